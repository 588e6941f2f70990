using MLNetTransfer.Featurization;
using Xunit.Abstractions;

namespace MLNetTransfer.Tests.Featurization;

/// <summary>
/// <see cref="OnnxBatchRunner"/> under load: garbage collections in the middle of native calls, concurrent callers, and
/// disposal. Before the fix, the stress child died with SIGSEGV or SIGFPE within seconds on every run (4 of 4).
/// </summary>
[NeedsAssets]
[Collection("heavy")]
public class OnnxBatchRunnerLoadTests(ITestOutputHelper output)
{
    [Fact]
    public void Batches_survive_garbage_collections_during_inference_and_give_identical_outputs()
    {
        var result = TestChild.Run(TimeSpan.FromMinutes(3), "onnx-gc-stress", "8");
        output.WriteLine(result.Stdout);
        Assert.True(result.ExitCode == 0,
            $"the stress child {TestChild.Describe(result.ExitCode)}; stdout: {result.Stdout}; stderr: {Tail(result.Stderr)}");
        var counts = result.Stdout.Trim().Split(' ');
        Assert.Equal("mismatches", counts[2]);
        Assert.Equal("0", counts[3]);
        Assert.True(long.Parse(counts[1]) >= 20, $"only {counts[1]} batches ran in 8 s");
        Assert.True(long.Parse(counts[5]) >= 20, $"only {counts[5]} collections ran beside them");
    }

    [Fact]
    public void Concurrent_callers_with_busy_cores_get_the_single_threaded_result()
    {
        using var runner = new OnnxBatchRunner(OnnxBatchRunnerStress.FeaturizerGraphFor(TestAssets.Cifar10Train), threads: 2);
        const int side = 32;
        var batches = Enumerable.Range(0, 4).Select(seed =>
        {
            var random = new Random(seed);
            var pixels = new float[4 * 3 * side * side];
            for (int i = 0; i < pixels.Length; i++) pixels[i] = random.NextSingle();
            return pixels;
        }).ToArray();
        var expected = batches.Select(b => runner.Run(b, 4, side, side)).ToArray();
        Assert.Equal(4 * 1280, expected[0].Length);
        Assert.False(expected[0].AsSpan().SequenceEqual(expected[1]), "different inputs must give different embeddings");

        using var busy = new BusyCores(2);
        var mismatches = 0;
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, worker =>
        {
            for (int round = 0; round < 6; round++)
            {
                int b = (worker + round) % batches.Length;
                if (!runner.Run(batches[b], 4, side, side).AsSpan().SequenceEqual(expected[b])) Interlocked.Increment(ref mismatches);
            }
        });
        Assert.Equal(0, mismatches);
    }

    [Fact]
    public void Dispose_waits_for_a_call_in_flight_and_later_calls_are_refused()
    {
        var runner = new OnnxBatchRunner(OnnxBatchRunnerStress.FeaturizerGraphFor(TestAssets.Cifar10Train), threads: 1);
        var pixels = new float[64 * 3 * 96 * 96];
        var call = Task.Run(() => runner.Run(pixels, 64, 96, 96));
        // Dispose only once the call holds the runner (signalling before calling Run was racy: on a busy machine Dispose
        // could win, and the call was rightly refused). From here on, the call must complete with its full output.
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (runner.CallsInFlight == 0 && !call.IsCompleted && DateTime.UtcNow < deadline) Thread.Yield();
        runner.Dispose();
        Assert.Equal(0, runner.CallsInFlight);
        Assert.Equal(64 * 1280, call.Result.Length); // either finished before Dispose or Dispose waited for it
        Assert.Throws<ObjectDisposedException>(() => runner.Run(pixels, 1, 96, 96));
        runner.Dispose(); // twice is fine
        Assert.Contains("needs", Assert.Throws<ArgumentException>(() => new OnnxBatchRunner(OnnxBatchRunnerStress.FeaturizerGraphFor(TestAssets.Cifar10Train), 1)
            .Run(new float[10], 1, 96, 96)).Message);
    }

    private static string Tail(string text) => text.Length <= 2000 ? text : text[^2000..];
}
