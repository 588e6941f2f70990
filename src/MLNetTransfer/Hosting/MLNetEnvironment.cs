using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace MLNetTransfer.Hosting;

/// <summary>
/// The caller's ML.NET environment behind a catalog (<c>mlContext.Transforms</c>, <c>mlContext.MulticlassClassification.Trainers</c>):
/// its seed, its log (<c>mlContext.Log</c>) and its cancellation (<c>mlContext.CancelExecution()</c>). ML.NET keeps the
/// accessor internal to its own assemblies (<c>IInternalCatalog.Environment</c>), so it is read by reflection; ML.NET 6.0.x
/// is pinned, and a change there fails loudly here.
/// </summary>
internal sealed class MLNetEnvironment
{
    private static readonly PropertyInfo? SeedProperty = FindInterfaceProperty("Microsoft.ML.Runtime.IHostEnvironmentInternal", "Seed");
    private static readonly PropertyInfo? CanceledProperty = FindInterfaceProperty("Microsoft.ML.Runtime.ICancelable", "IsCanceled");
    private static readonly PropertyInfo? TempFilePathProperty = FindInterfaceProperty("Microsoft.ML.Runtime.IHostEnvironmentInternal", "TempFilePath");

    private MLNetEnvironment(IHostEnvironment host) => Host = host;

    /// <summary>The ML.NET environment.</summary>
    public IHostEnvironment Host { get; }

    /// <summary>The MLContext's seed, or null when it was created without one.</summary>
    public int? Seed => SeedProperty?.GetValue(Host) as int?;

    /// <summary>The caller's <c>mlContext.TempFilePath</c> (where ML.NET and this library put temporary model files), or null.</summary>
    public string? TempFilePath => TempFilePathProperty?.GetValue(Host) as string;

    /// <summary>
    /// A context of this library's own, seeded with <paramref name="seed"/> and writing its temporary files where the caller's
    /// does (ML.NET keeps the caller's environment internal, so its context cannot be passed on).
    /// </summary>
    public MLContext NewContext(int? seed)
    {
        var ml = new MLContext(seed);
        if (!string.IsNullOrEmpty(TempFilePath)) ml.TempFilePath = TempFilePath;
        return ml;
    }

    /// <summary>True once <c>mlContext.CancelExecution()</c> was called.</summary>
    public bool IsCanceled => CanceledProperty?.GetValue(Host) is true;

    /// <summary>The environment of a catalog object (any of MLContext's catalogs or sub-catalogs).</summary>
    /// <exception cref="MissingMemberException">ML.NET's internal accessor changed.</exception>
    public static MLNetEnvironment Of(object catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        var accessor = catalog.GetType().GetInterfaces().FirstOrDefault(i => i.FullName == "Microsoft.ML.Data.IInternalCatalog")
                           ?.GetProperty("Environment")
                       ?? throw new MissingMemberException($"{catalog.GetType().Name} does not expose ML.NET's IInternalCatalog.Environment; this MLNetTransfer build needs Microsoft.ML 6.0.x.");
        return new MLNetEnvironment((IHostEnvironment)accessor.GetValue(catalog)!);
    }

    /// <summary>A fresh environment of its own (for code paths called without a catalog).</summary>
    public static MLNetEnvironment Private(int? seed) => Of(new MLContext(seed).Transforms);

    /// <summary>Writes an informational message to the environment's log (<c>mlContext.Log</c>), on channel <paramref name="channel"/>.</summary>
    public void Info(string channel, string message)
    {
        using var ch = Host.Start(channel);
        ch.Info(MessageSensitivity.None, message);
    }

    /// <summary>A token cancelled when <c>mlContext.CancelExecution()</c> is called (polled; dispose to stop polling).</summary>
    public CancellationWatch WatchCancellation() => new(this);

    private static PropertyInfo? FindInterfaceProperty(string interfaceName, string property) =>
        typeof(IHostEnvironment).Assembly.GetType(interfaceName)?.GetProperty(property);

    /// <summary>Turns ML.NET's cancellation flag into a <see cref="CancellationToken"/>.</summary>
    public sealed class CancellationWatch : IDisposable
    {
        private readonly CancellationTokenSource source = new();
        private readonly Timer timer;

        internal CancellationWatch(MLNetEnvironment env) =>
            timer = new Timer(_ =>
            {
                try { if (env.IsCanceled) source.Cancel(); }
                catch (ObjectDisposedException) { } // a last tick racing Dispose
            }, null, 0, 250);

        /// <summary>The token.</summary>
        public CancellationToken Token => source.Token;

        /// <inheritdoc/>
        public void Dispose()
        {
            timer.Dispose();
            source.Dispose();
        }
    }
}
