namespace MLNetTransfer.Backbones;

/// <summary>How <see cref="AssetResolver"/> downloads a missing asset. Defaults suit a slow home connection.</summary>
public sealed record DownloadOptions
{
    /// <summary>Attempts per file before giving up (transient errors: HTTP 5xx, 408, 429, a dropped connection, a timeout). Default 4.</summary>
    public int MaxAttempts { get; init; } = 4;

    /// <summary>Wait before the second attempt; doubled before each later one, capped at 30 s. Default 2 s.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Limit for connecting to the server. Default 30 s.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Limit for the response headers, and for any silence of the server in the middle of the body. Default 60 s.</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long to wait for another process downloading the same file before giving up. Default 30 min.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Called a few times a second while bytes arrive, and once when a file is complete. Default none.</summary>
    public Action<DownloadProgress>? Progress { get; init; }

    /// <summary>Called with one-line notes: a resumed download, a retry and its cause, waiting for another process. Default none.</summary>
    public Action<string>? Log { get; init; }

    internal void Validate()
    {
        if (MaxAttempts < 1) throw new ArgumentOutOfRangeException(nameof(MaxAttempts), MaxAttempts, "at least 1 attempt.");
        foreach (var (name, value) in new[] { (nameof(RetryDelay), RetryDelay), (nameof(ConnectTimeout), ConnectTimeout), (nameof(ReadTimeout), ReadTimeout), (nameof(LockTimeout), LockTimeout) })
            if (value < TimeSpan.Zero || (value == TimeSpan.Zero && name != nameof(RetryDelay)))
                throw new ArgumentOutOfRangeException(name, value, "must be positive.");
    }
}

/// <summary>The state of one file's download.</summary>
/// <param name="Asset">The asset's name (or path).</param>
/// <param name="Url">Where it comes from.</param>
/// <param name="Received">Bytes on disk so far, including those of a resumed earlier attempt.</param>
/// <param name="Total">Expected bytes, when known.</param>
/// <param name="BytesPerSecond">Rate of the current attempt.</param>
/// <param name="Remaining">Estimated time left, when the total and a rate are known.</param>
/// <param name="Completed">True on the last report, once the file is complete (before its checksum is checked).</param>
public sealed record DownloadProgress(string Asset, string Url, long Received, long? Total, double BytesPerSecond, TimeSpan? Remaining, bool Completed);
