using TorchSharp;
using static TorchSharp.torch;

namespace MLNetTransfer.Tests.Torch;

/// <summary>
/// Loads TorchSharp's natives (libLibTorchSharp.so + libtorch) and does real work with them. On Debian 12 /
/// Ubuntu 22.04 this only passes when the build step in build/TorchSharpLinuxCompat.targets has patched the
/// output's copy of libLibTorchSharp.so (see docs/torchsharp-linux.md).
/// </summary>
public sealed class TorchSharpRuntimeTests
{
    // x = [[1,2,3],[4,5,6],[7,8,9]] (1x1x3x3), w = [[1,2],[3,4]] (1x1x2x2), no padding, stride 1, loss = sum(conv2d(x, w)).
    private static readonly double[] X = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    private static readonly double[] W = { 1, 2, 3, 4 };

    [Fact]
    public void Conv2dForwardAndBackwardMatchHandComputedValues()
    {
        using var scope = NewDisposeScope();
        var x = tensor(X, new long[] { 1, 1, 3, 3 }, dtype: float64, requires_grad: true);
        var w = tensor(W, new long[] { 1, 1, 2, 2 }, dtype: float64, requires_grad: true);

        var y = nn.functional.conv2d(x, w);
        // y[i,j] = sum over the 2x2 window at (i,j) of x * w:
        //   1*1+2*2+4*3+5*4 = 37, 2*1+3*2+5*3+6*4 = 47, 4*1+5*2+7*3+8*4 = 67, 5*1+6*2+8*3+9*4 = 77
        Assert.Equal(new long[] { 1, 1, 2, 2 }, y.shape);
        Assert.Equal(new double[] { 37, 47, 67, 77 }, y.data<double>().ToArray());

        y.sum().backward();

        // dL/dw[a,b] = sum of the x values that w[a,b] meets over the 4 window positions:
        //   w00: 1+2+4+5 = 12, w01: 2+3+5+6 = 16, w10: 4+5+7+8 = 24, w11: 5+6+8+9 = 28
        Assert.Equal(new double[] { 12, 16, 24, 28 }, w.grad!.data<double>().ToArray());
        // dL/dx[i,j] = sum of the w values that meet x[i,j]: corners see one weight, edges two, the centre all four.
        Assert.Equal(new double[] { 1, 3, 2, 4, 10, 6, 3, 7, 4 }, x.grad!.data<double>().ToArray());
    }

    [Fact]
    public void DepthwiseConvolutionKeepsChannelsApart()
    {
        using var scope = NewDisposeScope();
        // Two channels, groups = 2: channel 0 is x, channel 1 is 10*x; kernels w and -w.
        var input = cat(new[] { tensor(X, new long[] { 1, 1, 3, 3 }, dtype: float64),
                                tensor(X.Select(v => 10 * v).ToArray(), new long[] { 1, 1, 3, 3 }, dtype: float64) }, 1);
        var weight = cat(new[] { tensor(W, new long[] { 1, 1, 2, 2 }, dtype: float64),
                                 tensor(W.Select(v => -v).ToArray(), new long[] { 1, 1, 2, 2 }, dtype: float64) }, 0);

        var y = nn.functional.conv2d(input, weight, groups: 2);

        Assert.Equal(new long[] { 1, 2, 2, 2 }, y.shape);
        Assert.Equal(new double[] { 37, 47, 67, 77, -370, -470, -670, -770 }, y.data<double>().ToArray());
    }

    [Fact]
    public void IntraOpThreadPoolIsAvailable()
    {
        Assert.True(torch.get_num_threads() > 0, $"torch.get_num_threads() = {torch.get_num_threads()}");
    }
}
