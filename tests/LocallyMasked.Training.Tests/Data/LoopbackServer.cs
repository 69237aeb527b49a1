using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace LocallyMasked.Training.Tests.Data;

/// <summary>
/// An HTTP server on 127.0.0.1 inside the test process (System.Net.HttpListener), serving <see cref="Files"/> by name.
/// Path prefixes change the behaviour: "cut/NAME" announces the full length, sends half and drops the connection;
/// "stall/NAME" sends half and then waits (until the client gives up or the server is disposed); "trickle/NAME" sends
/// one byte every 100 ms; "redirect/NAME" answers 302 to NAME on this server, "redirect-file/NAME" 302 to
/// file:///etc/passwd and "redirect-loop/NAME" 302 to itself; any other unknown name is a 404. Every request is counted.
/// </summary>
internal sealed class LoopbackServer : IDisposable
{
    private readonly HttpListener listener = new();
    private readonly Task loop;
    private readonly CancellationTokenSource stopping = new();

    public LoopbackServer()
    {
        for (int attempt = 0; ; attempt++)
        {
            int port = FreePort();
            listener.Prefixes.Clear();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                listener.Start();
                BaseUrl = new Uri($"http://127.0.0.1:{port}/");
                break;
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                // The port was taken in between: try another.
            }
        }
        loop = Task.Run(Serve);
    }

    /// <summary>The files served, by name.</summary>
    public ConcurrentDictionary<string, byte[]> Files { get; } = new();

    /// <summary>The paths requested, in order.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    public Uri BaseUrl { get; }

    /// <summary>An address on which nothing listens (a port that was free a moment ago).</summary>
    public static Uri Unreachable() => new($"http://127.0.0.1:{FreePort()}/");

    private static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    private async Task Serve()
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception)
            {
                return;
            }
            _ = Task.Run(() => Handle(context));
        }
    }

    private async Task Handle(HttpListenerContext context)
    {
        string path = context.Request.Url!.AbsolutePath.TrimStart('/');
        Requests.Enqueue(path);
        string mode = new[] { "cut", "stall", "trickle", "redirect", "redirect-file", "redirect-loop" }
            .FirstOrDefault(m => path.StartsWith(m + "/", StringComparison.Ordinal)) ?? "";
        string name = mode.Length == 0 ? path : path[(mode.Length + 1)..];
        var response = context.Response;
        try
        {
            if (mode.StartsWith("redirect", StringComparison.Ordinal))
            {
                response.StatusCode = 302;
                response.RedirectLocation = mode switch
                {
                    "redirect-file" => "file:///etc/passwd",
                    "redirect-loop" => new Uri(BaseUrl, path).AbsoluteUri,
                    _ => new Uri(BaseUrl, name).AbsoluteUri,
                };
                response.Close();
                return;
            }
            if (!Files.TryGetValue(name, out var body))
            {
                response.StatusCode = 404;
                response.Close();
                return;
            }
            response.ContentType = "application/octet-stream";
            response.ContentLength64 = body.Length;
            if (mode == "trickle")
            {
                for (int i = 0; i < body.Length; i++)
                {
                    await response.OutputStream.WriteAsync(body.AsMemory(i, 1), stopping.Token);
                    await response.OutputStream.FlushAsync(stopping.Token);
                    await Task.Delay(100, stopping.Token);
                }
                response.Close();
                return;
            }
            if (mode.Length > 0)
            {
                await response.OutputStream.WriteAsync(body.AsMemory(0, body.Length / 2));
                await response.OutputStream.FlushAsync();
                if (mode == "stall") await Task.Delay(Timeout.Infinite, stopping.Token);
                response.Abort();
                return;
            }
            await response.OutputStream.WriteAsync(body);
            response.Close();
        }
        catch (Exception)
        {
            try { response.Abort(); } catch (Exception) { }
        }
    }

    public void Dispose()
    {
        stopping.Cancel();
        if (listener.IsListening)
        {
            listener.Stop();
            listener.Close();
        }
        try { loop.Wait(2000); } catch (Exception) { }
        stopping.Dispose();
    }
}
