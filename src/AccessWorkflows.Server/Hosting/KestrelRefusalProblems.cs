using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using AccessWorkflows.Http;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace AccessWorkflows.Server.Hosting;

/// <summary>
/// Gives the refusals Kestrel writes itself, before any middleware runs (a NUL byte or a malformed header, a
/// malformed request line, a line over the limit, headers too large), the problem+json body every other error has
/// (SPEC 8). Kestrel offers no hook for these (dotnet/aspnetcore#4726), so this sits under it as connection
/// middleware on cleartext HTTP/1.1 and rewrites the one shape those refusals have: an error status with
/// <c>Content-Length: 0</c> and <c>Connection: close</c>, as the last bytes before Kestrel closes the connection.
/// The pipeline never answers like that (every error it writes has a problem body), so nothing it writes changes.
/// </summary>
/// <remarks>
/// Behind TLS terminated by Kestrel this middleware sees ciphertext, matches nothing and only copies bytes: the
/// refusals keep their empty body there. It costs one copy of the response bytes; the response that could be a
/// refusal is held until the connection's next write or its end, which is how it is told from a normal answer.
/// </remarks>
internal static class KestrelRefusalProblems
{
    /// <summary>Kestrel's refusals are a status line and five or six short headers; anything longer is not one.</summary>
    private const int MaxRefusalHeadLength = 1024;

    private static readonly byte[] StatusLinePrefix = "HTTP/1.1 "u8.ToArray();
    private static readonly byte[] HeadEnd = "\r\n\r\n"u8.ToArray();

    public static void Use(ListenOptions listen) => listen.Use(next => connection => RunAsync(connection, next));

    private static async Task RunAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        var transport = connection.Transport;
        var outgoing = new Pipe(new PipeOptions(useSynchronizationContext: false));
        connection.Transport = new DuplexPipe(transport.Input, outgoing.Writer);
        var pump = PumpAsync(outgoing.Reader, transport.Output);
        try
        {
            await next(connection);
        }
        finally
        {
            await outgoing.Writer.CompleteAsync();
            await pump;
            connection.Transport = transport;
        }
    }

    private static async Task PumpAsync(PipeReader reader, PipeWriter output)
    {
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync();
                var buffer = result.Buffer;
                var refusal = FindTrailingRefusal(buffer);
                if (result.IsCompleted || result.IsCanceled)
                {
                    if (refusal >= 0)
                    {
                        Write(output, buffer.Slice(0, refusal));
                        output.Write(WithProblemBody(buffer.Slice(refusal)));
                    }
                    else
                    {
                        Write(output, buffer);
                    }

                    reader.AdvanceTo(buffer.End);
                    await output.FlushAsync();
                    break;
                }

                if (refusal >= 0)
                {
                    // Held back until we know whether the connection ends after it (a refusal) or goes on (an answer).
                    Write(output, buffer.Slice(0, refusal));
                    reader.AdvanceTo(buffer.GetPosition(refusal), buffer.End);
                }
                else
                {
                    Write(output, buffer);
                    reader.AdvanceTo(buffer.End);
                }

                var flushed = await output.FlushAsync();
                if (flushed.IsCompleted)
                {
                    break; // the peer is gone
                }
            }

            await reader.CompleteAsync();
        }
        catch (Exception e) when (e is IOException or ConnectionAbortedException or ConnectionResetException or InvalidOperationException)
        {
            // The connection was aborted under us: there is nobody left to answer.
            await reader.CompleteAsync(e);
        }
    }

    /// <summary>Where a refusal-shaped response head that ends the buffer starts, or -1.</summary>
    private static long FindTrailingRefusal(ReadOnlySequence<byte> buffer)
    {
        // Most answers end in a body: four bytes tell them apart before anything is copied.
        Span<byte> last = stackalloc byte[HeadEnd.Length];
        if (buffer.Length < HeadEnd.Length)
        {
            return -1;
        }

        buffer.Slice(buffer.Length - HeadEnd.Length).CopyTo(last);
        if (!last.SequenceEqual(HeadEnd))
        {
            return -1;
        }

        var tailStart = Math.Max(0, buffer.Length - MaxRefusalHeadLength);
        var tail = buffer.Slice(tailStart).ToArray().AsSpan();

        var start = tail.LastIndexOf(StatusLinePrefix);
        if (start < 0)
        {
            return -1;
        }

        var head = Encoding.Latin1.GetString(tail[start..]);
        if (head.IndexOf("\r\n\r\n", StringComparison.Ordinal) != head.Length - 4
            || StatusOf(head) < 400
            || !head.Contains("\r\nContent-Length: 0\r\n", StringComparison.OrdinalIgnoreCase)
            || !head.Contains("\r\nConnection: close\r\n", StringComparison.OrdinalIgnoreCase)
            || head.Contains("\r\nContent-Type:", StringComparison.OrdinalIgnoreCase))
        {
            return -1;
        }

        return tailStart + start;
    }

    /// <summary>The status code of a response head, or -1 when its status line has none.</summary>
    private static int StatusOf(string head)
    {
        var line = head.AsSpan(StatusLinePrefix.Length);
        return line.Length >= 3 && int.TryParse(line[..3], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var status)
            ? status
            : -1;
    }

    private static byte[] WithProblemBody(ReadOnlySequence<byte> refusal)
    {
        var head = Encoding.Latin1.GetString(refusal.ToArray());
        var status = StatusOf(head);
        var body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["title"] = ProblemResponses.TitleOf(status),
            ["status"] = status,
            ["detail"] = DetailOf(status),
        });
        var statusLineEnd = head.IndexOf("\r\n", StringComparison.Ordinal);
        var headers = head[statusLineEnd..^4]
            .Replace("\r\nContent-Length: 0", $"\r\nContent-Length: {body.Length}", StringComparison.OrdinalIgnoreCase);
        var rewritten = $"{head[..statusLineEnd]}\r\nContent-Type: application/problem+json{headers}\r\n\r\n";
        return [.. Encoding.Latin1.GetBytes(rewritten), .. body];
    }

    private static string DetailOf(int status) => status switch
    {
        400 => "The request could not be read: its request line or a header is malformed (a control character, a NUL byte, a line without a colon).",
        414 => "The request line is longer than the server reads.",
        431 => "The request headers are larger than the server reads.",
        _ => ProblemResponses.TitleOf(status),
    };

    private static void Write(PipeWriter output, ReadOnlySequence<byte> bytes)
    {
        foreach (var segment in bytes)
        {
            output.Write(segment.Span);
        }
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
