using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace MLNetTransfer.Tests.Data;

/// <summary>
/// An HTTP server on 127.0.0.1 (a free port chosen by the OS) serving in-memory files, with scripted misbehaviour per
/// request: a status code, a body cut short, a connection dropped mid-file, corrupted bytes, or a slow body. Honours
/// <c>Range: bytes=N-</c>. Loopback only: nothing leaves the machine.
/// </summary>
internal sealed class LoopbackFileServer : IDisposable
{
    /// <summary>What one request gets.</summary>
    public abstract record Behaviour
    {
        /// <summary>The file, honouring Range.</summary>
        public sealed record Normal : Behaviour;
        /// <summary>Only the status code.</summary>
        public sealed record Status(int Code) : Behaviour;
        /// <summary>A complete response whose body (and Content-Length) is only the first <paramref name="Bytes"/> bytes.</summary>
        public sealed record ShortBody(int Bytes) : Behaviour;
        /// <summary>Headers promise the whole file; the connection is reset after <paramref name="Bytes"/> bytes of body.</summary>
        public sealed record DropAfter(int Bytes) : Behaviour;
        /// <summary>The whole file with one byte flipped.</summary>
        public sealed record Corrupt : Behaviour;
        /// <summary>Headers promise the whole file; after <paramref name="Bytes"/> bytes the server goes silent for <paramref name="Silence"/>, then hangs up.</summary>
        public sealed record Stall(int Bytes, TimeSpan Silence) : Behaviour;
        /// <summary>The file in 4 KB pieces spread over <paramref name="Duration"/>.</summary>
        public sealed record Slow(TimeSpan Duration) : Behaviour;
    }

    /// <summary>One request as served.</summary>
    public sealed record Request(string Path, long? RangeFrom, int Status, long BodyBytes);

    private readonly HttpListener listener;
    private readonly Dictionary<string, byte[]> files = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentQueue<Behaviour>> scripts = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<Request> log = new();
    private readonly Thread loop;

    public LoopbackFileServer()
    {
        for (int attempt = 1; ; attempt++)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            int port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try { listener.Start(); BaseUrl = $"http://127.0.0.1:{port}/"; break; }
            catch (HttpListenerException) when (attempt < 5) { listener.Close(); } // the port was taken in between
        }
        loop = new Thread(Serve) { IsBackground = true, Name = "loopback-http" };
        loop.Start();
    }

    /// <summary>e.g. <c>http://127.0.0.1:40123/</c>.</summary>
    public string BaseUrl { get; }

    public IReadOnlyList<Request> Requests => [.. log];

    /// <summary>Serves <paramref name="bytes"/> at <c>/name</c>; returns its url.</summary>
    public string Add(string name, byte[] bytes)
    {
        lock (files) files[name] = bytes;
        return BaseUrl + name;
    }

    /// <summary>The next requests of <c>/name</c> get these behaviours in order; later ones are served normally.</summary>
    public void Script(string name, params Behaviour[] behaviours)
    {
        var queue = scripts.GetOrAdd(name, _ => new());
        foreach (var b in behaviours) queue.Enqueue(b);
    }

    private void Serve()
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try { context = listener.GetContext(); }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            ThreadPool.QueueUserWorkItem(_ => Handle(context));
        }
    }

    private void Handle(HttpListenerContext context)
    {
        var name = context.Request.Url!.AbsolutePath.TrimStart('/');
        var response = context.Response;
        long? from = ParseRange(context.Request.Headers["Range"]);
        byte[]? file;
        lock (files) files.TryGetValue(name, out file);
        var behaviour = scripts.TryGetValue(name, out var queue) && queue.TryDequeue(out var next) ? next : new Behaviour.Normal();
        try
        {
            if (file is null || behaviour is Behaviour.Status)
            {
                int code = behaviour is Behaviour.Status s ? s.Code : 404;
                log.Enqueue(new Request(name, from, code, 0));
                response.StatusCode = code;
                response.Close();
                return;
            }
            if (behaviour is Behaviour.Corrupt)
            {
                file = (byte[])file.Clone();
                file[file.Length / 2] ^= 0x5A;
            }
            long start = from is long f && f < file.Length ? f : 0;
            var body = file.AsSpan((int)start).ToArray();
            response.StatusCode = start > 0 ? 206 : 200;
            if (start > 0) response.Headers["Content-Range"] = $"bytes {start}-{file.Length - 1}/{file.Length}";
            if (behaviour is Behaviour.ShortBody shortBody) body = body[..Math.Min(shortBody.Bytes, body.Length)];
            response.ContentLength64 = body.Length;
            int send = behaviour switch
            {
                Behaviour.DropAfter drop => Math.Min(drop.Bytes, body.Length),
                Behaviour.Stall stall => Math.Min(stall.Bytes, body.Length),
                _ => body.Length,
            };
            log.Enqueue(new Request(name, from, response.StatusCode, send));
            var output = response.OutputStream;
            if (behaviour is Behaviour.Slow slow)
            {
                int pieces = Math.Max(1, (send + 4095) / 4096);
                for (int i = 0; i < pieces; i++)
                {
                    output.Write(body, i * 4096, Math.Min(4096, send - i * 4096));
                    output.Flush();
                    Thread.Sleep(slow.Duration / pieces);
                }
            }
            else output.Write(body, 0, send);
            output.Flush();
            if (behaviour is Behaviour.Stall silent) Thread.Sleep(silent.Silence);
            if (behaviour is Behaviour.DropAfter or Behaviour.Stall)
            {
                Thread.Sleep(100); // let the bytes reach the client before the reset
                response.Abort();
                return;
            }
            response.Close();
        }
        catch (Exception ex) when (ex is HttpListenerException or IOException or ObjectDisposedException) { } // the client hung up
    }

    private static long? ParseRange(string? header) =>
        header is not null && header.StartsWith("bytes=", StringComparison.Ordinal) && header.EndsWith('-')
        && long.TryParse(header["bytes=".Length..^1], out var from) ? from : null;

    public void Dispose()
    {
        if (!listener.IsListening) return;
        // Close alone, not Stop then Close: on Unix's managed HttpListener each of them unregisters the endpoint, and the
        // second finds it gone, binds the port again to look for the prefix, and throws "Address already in use" when
        // another test has taken the port in between (failed once in a fresh-clone CI run).
        listener.Close();
        loop.Join(TimeSpan.FromSeconds(5));
    }
}
