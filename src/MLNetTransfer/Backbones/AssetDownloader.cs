using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using MLNetTransfer.IO;

namespace MLNetTransfer.Backbones;

/// <summary>
/// Downloads one asset into a target path so that only a verified file ever appears there. Bytes go to a hidden
/// <c>.NAME.partial</c> file beside the target, kept across runs so an interrupted download resumes with an HTTP Range
/// request; the partial file is renamed over the target only after its size and checksum pass. A lock file serializes
/// processes fetching the same file: the second waits, then finds the verified file. Transient failures are retried a
/// bounded number of times with doubling delays; a body that completes but fails its checks is deleted, never kept.
/// </summary>
internal static class AssetDownloader
{
    /// <summary>Why a download gave up; the resolver turns it into a message naming what to set instead.</summary>
    internal sealed class Failure(string reason, bool integrity, Exception? inner = null, bool permanent = false) : Exception(reason, inner)
    {
        /// <summary>True when bytes arrived but failed the size or checksum check (a different file, not the network).</summary>
        public bool Integrity { get; } = integrity;

        /// <summary>True when a retry cannot help (HTTP 404, a full disk): given up at once.</summary>
        public bool Permanent { get; } = permanent;
    }

    /// <exception cref="Failure">Every attempt failed, the server refused the file, or the checks failed.</exception>
    /// <exception cref="UnauthorizedAccessException">The target folder cannot be written.</exception>
    public static string Download(AssetInfo asset, string url, string target, DownloadOptions options)
    {
        options.Validate();
        var dir = Path.GetDirectoryName(Path.GetFullPath(target))!;
        var name = Path.GetFileName(target);
        CreateWritable(dir);
        using var held = FileLock.Acquire(Path.Combine(dir, $".{name}.lock"), options.LockTimeout,
            () => options.Log?.Invoke($"waiting for another process downloading {asset.DisplayName} into {dir}"));
        if (File.Exists(target))
        {
            AssetResolver.Verify(target, asset); // the other process finished while this one waited
            return target;
        }

        var partial = Path.Combine(dir, $".{name}.partial");
        Failure? last = null;
        for (int attempt = 1; attempt <= options.MaxAttempts; attempt++)
        {
            if (attempt > 1)
            {
                var delay = TimeSpan.FromTicks(Math.Min(options.RetryDelay.Ticks << Math.Min(attempt - 2, 10), TimeSpan.FromSeconds(30).Ticks));
                options.Log?.Invoke($"{asset.DisplayName}: {last!.Message}; attempt {attempt} of {options.MaxAttempts} in {delay.TotalSeconds:0.#} s");
                Thread.Sleep(delay);
            }
            try
            {
                Fetch(asset, url, partial, options);
            }
            catch (Failure ex) when (ex.Permanent) { throw; }
            catch (Failure ex)
            {
                if (ex.Integrity) File.Delete(partial);
                last = ex;
                continue;
            }

            try { AssetResolver.Verify(partial, asset); }
            catch (AssetIntegrityException ex)
            {
                File.Delete(partial); // complete but wrong: never resumed from, never read
                last = new Failure(ex.Message.StartsWith(partial, StringComparison.Ordinal) ? ex.Message[(partial.Length + 2)..] : ex.Message, integrity: true, ex);
                continue;
            }
            File.Move(partial, target, overwrite: false); // one folder: atomic, readers see the whole file or none
            return target;
        }
        throw last!;
    }

    private static void CreateWritable(string dir)
    {
        try
        {
            Directory.CreateDirectory(dir);
            var probe = Path.Combine(dir, $".write-probe-{Environment.ProcessId}");
            using (new FileStream(probe, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UnauthorizedAccessException($"{dir}: the download folder is not writable ({ex.Message.TrimEnd('.')})", ex);
        }
    }

    // 4xx (except 408 Request Timeout and 429 Too Many Requests) will not change on a retry.
    private static bool IsPermanent(HttpRequestException ex) =>
        ex.StatusCode is HttpStatusCode code && (int)code is >= 400 and < 500 && code is not (HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests);

    /// <summary>One HTTP attempt: appends to <paramref name="partial"/> from where it ends, or restarts it when the server ignores the range.</summary>
    private static void Fetch(AssetInfo asset, string url, string partial, DownloadOptions options)
    {
        long have = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        if (asset.Size is long size && have >= size)
        {
            if (have == size) return; // a previous run was killed between the last byte and the rename
            File.Delete(partial);
            have = 0;
        }
        try
        {
            FetchAsync(asset, url, partial, have, options).GetAwaiter().GetResult();
        }
        catch (Failure) { throw; }
        catch (HttpRequestException ex) { throw new Failure(ex.StatusCode is HttpStatusCode code ? $"HTTP {(int)code} {code}" : ex.Message, false, ex, IsPermanent(ex)); }
        catch (OperationCanceledException ex) { throw new Failure($"no data from the server for {options.ReadTimeout.TotalSeconds:0} s", false, ex); }
        catch (IOException ex) when (ex is not FileNotFoundException) { throw new Failure($"connection lost ({ex.Message.TrimEnd('.')})", false, ex); }
    }

    private static async Task FetchAsync(AssetInfo asset, string url, string partial, long have, DownloadOptions options)
    {
        using var handler = new SocketsHttpHandler { ConnectTimeout = options.ConnectTimeout, AutomaticDecompression = DecompressionMethods.None };
        using var http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan }; // timeouts are per phase, below
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (have > 0) request.Headers.Range = new RangeHeaderValue(have, null);
        using var headersTimeout = new CancellationTokenSource(options.ReadTimeout);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, headersTimeout.Token).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            File.Delete(partial); // the kept bytes do not fit what the server now has: start over
            throw new Failure($"the server refused to resume at byte {have}", false);
        }
        response.EnsureSuccessStatusCode();
        bool resumed = have > 0 && response.StatusCode == HttpStatusCode.PartialContent && response.Content.Headers.ContentRange?.From == have;
        if (have > 0)
            options.Log?.Invoke(resumed ? $"{asset.DisplayName}: resuming at {have:N0} bytes" : $"{asset.DisplayName}: the server cannot resume; starting over");
        if (!resumed) have = 0;
        long? total = asset.Size ?? (response.Content.Headers.ContentLength is long length ? have + length : null);
        long? declared = response.Content.Headers.ContentLength;

        using var body = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
        // Unbuffered: every byte received is in the file at once, so a kill loses nothing to resume and a full disk fails in Write.
        using var file = new FileStream(partial, resumed ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
        var buffer = new byte[1 << 16];
        var clock = Stopwatch.StartNew();
        long start = have, lastReport = -1;
        while (true)
        {
            using var silence = new CancellationTokenSource(options.ReadTimeout);
            int n = await body.ReadAsync(buffer, silence.Token).ConfigureAwait(false);
            if (n == 0) break;
            Write(file, buffer, n, partial);
            have += n;
            if (total is long t && have > t)
                throw new Failure($"the server sent more than the expected {t:N0} bytes", true);
            if (options.Progress is not null && clock.ElapsedMilliseconds - lastReport >= 200)
            {
                lastReport = clock.ElapsedMilliseconds;
                options.Progress(Report(asset, url, have, start, total, clock.Elapsed, completed: false));
            }
        }
        Write(file, buffer, 0, partial);
        if (declared is long d && have - start != d)
            throw new Failure($"connection closed after {have - start:N0} of {d:N0} bytes", false);
        options.Progress?.Invoke(Report(asset, url, have, start, total, clock.Elapsed, completed: true));
    }

    /// <summary>Appends (or, with no bytes, flushes to disk); a write error (a full disk) is permanent, not a network fault to retry.</summary>
    private static void Write(FileStream file, byte[] buffer, int count, string path)
    {
        try
        {
            if (count > 0) file.Write(buffer, 0, count);
            else file.Flush(flushToDisk: true);
        }
        catch (IOException ex)
        {
            throw new Failure($"cannot write {path} ({ex.Message.TrimEnd('.')})", integrity: false, ex, permanent: true);
        }
    }

    private static DownloadProgress Report(AssetInfo asset, string url, long have, long start, long? total, TimeSpan elapsed, bool completed)
    {
        double rate = elapsed.TotalSeconds > 0 ? (have - start) / elapsed.TotalSeconds : 0;
        TimeSpan? left = total is long t && rate > 0 ? TimeSpan.FromSeconds(Math.Max(0, t - have) / rate) : null;
        return new DownloadProgress(asset.Name ?? asset.RelativePath, url, have, total, rate, left, completed);
    }
}
