using MLNetTransfer.Backbones;
using MLNetTransfer.Featurization;
using MLNetTransfer.Onnx;
using MLNetTransfer.Tests.Onnx;
using Xunit.Abstractions;

namespace MLNetTransfer.Tests.Featurization;

/// <summary>Int8 featurization of ResNet-18: the shipped calibration table, its agreement with the float features, and calibration itself.</summary>
[Collection("heavy")]
public class Int8CalibrationTests(ITestOutputHelper output)
{
    [Fact]
    public void The_shipped_ranges_cover_exactly_the_tensors_resnet18_quantizes()
    {
        var model = FeaturizerGraph.BuildFloatNetwork(BackboneCatalog.ResNet18, new AssetResolver(), "embedding");
        OnnxInt8Quantizer.FoldBatchNormalization(model);
        Assert.Equal(OnnxInt8Quantizer.CalibrationTensors(model).Order(), BackboneCatalog.ResNet18Int8.Int8Ranges!.Keys.Order());
        Assert.Equal(33, BackboneCatalog.ResNet18Int8.Int8Ranges!.Count);
        // The multi-block variant reads float tensors (its pooled blocks) from the int8 network.
        var graph = OnnxModel.Parse(FeaturizerGraph.Build(BackboneCatalog.ResNet18MultiBlockInt8, new AssetResolver(), 224));
        Assert.Contains(graph.Graph.Node, n => n.OpType == "QuantizeLinear");
        Assert.Equal(4, graph.Graph.Node.Count(n => n.OpType == "GlobalAveragePool")); // three pooled units + the embedding
    }

    [Fact]
    public void Int8_and_float_backbones_never_share_cached_features()
    {
        Assert.NotEqual(BackboneCatalog.ResNet18.CacheKey, BackboneCatalog.ResNet18Int8.CacheKey);
        var recalibrated = BackboneCatalog.ResNet18Int8 with
        {
            Int8Ranges = BackboneCatalog.ResNet18Int8.Int8Ranges!.ToDictionary(r => r.Key, r => r.Value with { Max = r.Value.Max * 1.01f }),
        };
        Assert.NotEqual(BackboneCatalog.ResNet18Int8.CacheKey, recalibrated.CacheKey);
    }

    [Fact]
    [NeedsAssets]
    public void Int8_features_agree_with_the_float_ones_on_cifar_test_images()
    {
        var images = TestAssets.CifarSubset(TestAssets.Cifar10Test, 4).Select(i => i.Path).ToList();
        var fp32 = new ImageFeaturizer(new FeaturizeImageOptions { Backbone = BackboneCatalog.ResNet18 }).Featurize(images).ToList();
        var int8 = new ImageFeaturizer(new FeaturizeImageOptions { Backbone = BackboneCatalog.ResNet18Int8 }).Featurize(images).ToList();
        var cosines = fp32.Zip(int8, OnnxInt8QuantizerTests.Cosine).ToList();
        output.WriteLine($"cosine over {images.Count} images: mean {cosines.Average():F4}, min {cosines.Min():F4}");
        Assert.True(cosines.Average() > 0.99, $"mean cosine {cosines.Average()}");
        Assert.True(cosines.Min() > 0.95, $"min cosine {cosines.Min()}");
        Assert.True(cosines.Max() < 1 - 1e-7, "int8 features equal the float ones: the int8 graph was not used");
    }

    [Fact]
    [NeedsAssets]
    public void Calibrating_on_the_documented_images_reproduces_the_shipped_table()
    {
        // The table's doc: the first 26 training images per class (sorted by name), 256 in all.
        var images = Directory.GetDirectories(TestAssets.Cifar10Train).Order(StringComparer.Ordinal)
            .SelectMany(d => Directory.GetFiles(d).Order(StringComparer.Ordinal).Take(26)).Take(Int8Calibration.DefaultImageCount);
        var calibrated = Int8Calibration.Calibrate(BackboneCatalog.ResNet18, images);
        Assert.Equal("resnet18-int8", calibrated.Name);
        foreach (var (tensor, shipped) in BackboneCatalog.ResNet18Int8.Int8Ranges!)
        {
            var measured = calibrated.Int8Ranges![tensor];
            float tolerance = 1e-3f * (shipped.Max - shipped.Min);
            Assert.True(Math.Abs(measured.Min - shipped.Min) <= tolerance && Math.Abs(measured.Max - shipped.Max) <= tolerance,
                $"{tensor}: measured {measured}, shipped {shipped}");
        }
    }

    [Fact]
    public void The_catalog_call_and_the_options_have_one_default_backbone()
    {
        var ml = new Microsoft.ML.MLContext(1);
        var empty = ml.Data.LoadFromEnumerable(Array.Empty<PathRow>());
        using var fitted = ml.Transforms.FeaturizeImage("Features", "ImagePath").Fit(empty);
        var features = (Microsoft.ML.Data.VectorDataViewType)fitted.GetOutputSchema(empty.Schema)["Features"].Type;
        Assert.Equal(512, features.Size); // resnet18-int8's embedding (MobileNetV2's would be 1280)
        Assert.Equal(BackboneCatalog.ResNet18Int8.Name, fitted.Options.Backbone.Name);
        Assert.Equal(BackboneCatalog.ResNet18Int8, new FeaturizeImageOptions().Backbone);
        Assert.Equal(BackboneCatalog.ResNet18Int8, new MLNetTransfer.Training.LinearProbeOptions().Backbone);
    }

    [Fact]
    [NeedsAssets]
    public void The_default_linear_probe_needs_no_model_file_in_any_assets_folder()
    {
        using var empty = new TempDir();
        var ml = new Microsoft.ML.MLContext(1);
        var options = new MLNetTransfer.Training.LinearProbeOptions { Assets = new AssetResolver(empty.Path) { AllowDownload = false } };
        Assert.Equal("resnet18-int8", options.Backbone.Name);
        var model = MLNetTransfer.Training.LinearProbe.Train(ml, TestAssets.CifarSubset(TestAssets.Cifar10Train, 30), options);
        var report = MLNetTransfer.Evaluation.ModelEvaluation.Evaluate(ml, model, TestAssets.CifarSubset(TestAssets.Cifar10Test, 20));
        output.WriteLine($"default probe, 30/class → 20/class: accuracy {report.Accuracy:F3}");
        Assert.True(report.Accuracy > 0.45, $"accuracy {report.Accuracy:F3} (chance 0.10)");
        Assert.Empty(Directory.EnumerateFileSystemEntries(empty.Path)); // nothing looked up there, nothing downloaded
    }

    [Fact]
    [NeedsAssets]
    public void An_int8_file_is_refused_with_its_name()
    {
        var images = TestAssets.CifarSubset(TestAssets.Cifar10Test, 1).Select(i => i.Path);
        var error = Assert.Throws<ArgumentException>(() => Int8Calibration.Calibrate(BackboneCatalog.MobileNetV2Int8, images));
        Assert.Contains("mobilenetv2-int8", error.Message);
        Assert.Contains("RunAsFloat", error.Message);
    }

    private sealed class PathRow { public string ImagePath { get; set; } = ""; }
}
