using MLNetTransfer.Backbones;
using Microsoft.ML;
using MLNetTransfer.Evaluation;
using MLNetTransfer.Training;
using Xunit.Abstractions;

namespace MLNetTransfer.Tests.Training;

/// <summary>The L-BFGS entry's L1 by training-set size, on real CIFAR-10 features.</summary>
[NeedsAssets]
[Collection("heavy")]
public class LinearProbeSmallDataTests(ITestOutputHelper output)
{
    [Fact]
    public void Ten_images_per_class_train_without_l1_and_beat_the_l1_entry()
    {
        Assert.Same(ClassicalTrainers.LbfgsSmallData, ClassicalTrainers.LbfgsFor(ClassicalTrainers.SmallDataRows - 1));
        Assert.Same(ClassicalTrainers.Lbfgs, ClassicalTrainers.LbfgsFor(ClassicalTrainers.SmallDataRows));

        var ml = new MLContext(1);
        var train = TestAssets.CifarSubset(TestAssets.Cifar10Train, 10);
        var test = TestAssets.CifarSubset(TestAssets.Cifar10Test, 50);
        using var cache = new TempDir();
        double Accuracy(ClassicalTrainerInfo trainer, bool viaTrain)
        {
            var options = new LinearProbeOptions { Backbone = BackboneCatalog.MobileNetV2Int8, Assets = new(TestAssets.Root), Trainer = trainer, CacheFolder = cache.Path };
            var model = viaTrain ? LinearProbe.Train(ml, train, options)
                : new ImageClassifierModel(LinearProbe.BuildPipeline(ml, options).Fit(View(ml, train)), View(ml, train).Schema);
            return ModelEvaluation.Evaluate(ml, model, test).Accuracy;
        }
        double chosen = Accuracy(ClassicalTrainers.Lbfgs, viaTrain: true);   // Train swaps in the small-data entry
        double withL1 = Accuracy(ClassicalTrainers.Lbfgs, viaTrain: false);  // the L1 entry as given
        output.WriteLine($"10 images/class, 500 test images: LinearProbe.Train {chosen:F4}, L1 1 entry {withL1:F4}");
        Assert.True(chosen >= 0.45, $"accuracy {chosen:F4} < 0.45");
        Assert.True(chosen >= withL1 + 0.04, $"small-data entry {chosen:F4} should beat L1 1 ({withL1:F4}) by 4 points");
    }

    private static IDataView View(MLContext ml, IEnumerable<MLNetTransfer.Data.LabeledImage> items) =>
        ml.Data.LoadFromEnumerable(items.Select(i => new MLNetTransfer.Data.ImagePathRow { ImagePath = i.Path, Label = i.Label }));
}
