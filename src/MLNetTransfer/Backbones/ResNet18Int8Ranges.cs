using MLNetTransfer.Onnx;

namespace MLNetTransfer.Backbones;

/// <summary>
/// Activation ranges of <see cref="BackboneCatalog.ResNet18"/> for int8 featurization: the output of
/// <see cref="Featurization.Int8Calibration.Calibrate"/> on the first 26 training images per class (sorted by name, 256 in
/// all) of CIFAR-10, at 224 px. Regenerate with <c>bench resnet18-int8 --print-ranges</c>. Images unlike CIFAR-10's
/// may deserve their own calibration (<c>Int8Calibration.Calibrate(BackboneCatalog.ResNet18, yourImages)</c>).
/// </summary>
internal static class ResNet18Int8Ranges
{
    public static IReadOnlyDictionary<string, ActivationRange> Values { get; } = new Dictionary<string, ActivationRange>
    {
        ["Input247"] = new(-127.43873f, 156.33067f),
        ["ReLU253_Output_0"] = new(0f, 13.516323f),
        ["Pooling255_Output_0"] = new(0f, 13.516323f),
        ["ReLU261_Output_0"] = new(0f, 10.058777f),
        ["BatchNormalization265_Output_0"] = new(-18.192497f, 12.830929f),
        ["ReLU269_Output_0"] = new(0f, 14.428547f),
        ["ReLU275_Output_0"] = new(0f, 11.248654f),
        ["BatchNormalization279_Output_0"] = new(-21.697456f, 14.74265f),
        ["ReLU283_Output_0"] = new(0f, 21.329197f),
        ["BatchNormalization297_Output_0"] = new(-15.786799f, 13.739845f),
        ["ReLU289_Output_0"] = new(0f, 8.662679f),
        ["BatchNormalization293_Output_0"] = new(-12.954432f, 10.942769f),
        ["ReLU301_Output_0"] = new(0f, 14.595717f),
        ["ReLU307_Output_0"] = new(0f, 9.547766f),
        ["BatchNormalization311_Output_0"] = new(-14.807306f, 11.353595f),
        ["ReLU315_Output_0"] = new(0f, 17.516758f),
        ["BatchNormalization329_Output_0"] = new(-6.157312f, 5.4393005f),
        ["ReLU321_Output_0"] = new(0f, 9.625469f),
        ["BatchNormalization325_Output_0"] = new(-11.319834f, 12.857361f),
        ["ReLU333_Output_0"] = new(0f, 14.063358f),
        ["ReLU339_Output_0"] = new(0f, 6.2278557f),
        ["BatchNormalization343_Output_0"] = new(-12.601119f, 8.9666395f),
        ["ReLU347_Output_0"] = new(0f, 13.323071f),
        ["BatchNormalization361_Output_0"] = new(-14.957367f, 19.843527f),
        ["ReLU353_Output_0"] = new(0f, 6.11661f),
        ["BatchNormalization357_Output_0"] = new(-19.764338f, 24.382393f),
        ["ReLU365_Output_0"] = new(0f, 30.042759f),
        ["ReLU371_Output_0"] = new(0f, 4.9944158f),
        ["BatchNormalization375_Output_0"] = new(-13.4454155f, 13.242891f),
        ["ReLU379_Output_0"] = new(0f, 33.389717f),
        ["ReLU385_Output_0"] = new(0f, 5.2887096f),
        ["BatchNormalization389_Output_0"] = new(-24.89822f, 35.857094f),
        ["ReLU393_Output_0"] = new(0f, 56.618793f),
    };
}
