using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using AccessWorkflows.Requests;
using AccessWorkflows.Storage;
using AccessWorkflows.Storage.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Server.Tests;

/// <summary>
/// Issue #11, items 4 to 6: every error the server answers is problem+json — an unexpected exception (without its
/// stack trace, with a correlation id the log carries too), a route or method that does not exist, and a body over
/// the 64 KiB cap on every route that takes one, however it is sent.
/// </summary>
public sealed class ErrorAnswerTests : IClassFixture<ErrorAnswerTests.Fixture>
{
    private const int OverCap = 70 * 1024;

    private readonly Fixture _fixture;
    private readonly ServerFactory _server;

    public ErrorAnswerTests(Fixture fixture)
    {
        _fixture = fixture;
        _server = fixture.Server;
    }

    [Fact]
    public async Task An_unexpected_exception_is_a_500_problem_without_the_stack_trace_and_its_correlation_id_is_logged()
    {
        var response = await _server.As("audit@example.com").GetAsync($"/api/requests/{FaultyRequestStore.FaultyId}");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain(FaultyRequestStore.Secret, text);
        Assert.DoesNotContain(nameof(InvalidOperationException), text);
        Assert.DoesNotContain(nameof(FaultyRequestStore), text);
        var correlationId = JsonDocument.Parse(text).RootElement.GetProperty("correlationId").GetString();
        Assert.False(string.IsNullOrEmpty(correlationId));
        Assert.Equal(correlationId, response.Headers.GetValues("X-Correlation-Id").Single());
        Assert.Contains(_fixture.Logs.Entries, e => e.Exception?.Message == FaultyRequestStore.Secret && e.Message.Contains(correlationId!, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("GET", "/api/no-such-route", HttpStatusCode.NotFound)]
    [InlineData("POST", "/api/requests/abc/no-such-action", HttpStatusCode.NotFound)]
    [InlineData("DELETE", "/api/requests", HttpStatusCode.MethodNotAllowed)]
    [InlineData("PUT", "/api/requests/abc/decision", HttpStatusCode.MethodNotAllowed)]
    [InlineData("GET", "/api/requests/abc/relinquish", HttpStatusCode.MethodNotAllowed)]
    public async Task Routing_refusals_are_problems(string method, string path, HttpStatusCode expected)
    {
        var response = await _server.As("oscar@example.com").SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((int)expected, problem.GetProperty("status").GetInt32());
    }

    [Theory]
    [InlineData("/api/requests", false)]
    [InlineData("/api/requests", true)]
    [InlineData("/api/requests/{id}/decision", false)]
    [InlineData("/api/requests/{id}/decision", true)]
    [InlineData("/api/requests/{id}/relinquish", false)]
    [InlineData("/api/requests/{id}/relinquish", true)]
    [InlineData("/api/requests/{id}/revoke", false)]
    [InlineData("/api/requests/{id}/revoke", true)]
    public async Task Every_route_with_a_body_refuses_one_over_the_cap_however_it_is_sent(string route, bool chunked)
    {
        var created = await Api.CreateAsync(_server.As("pia@example.com"), Api.PolicyRequest());
        var caller = route.EndsWith("/revoke", StringComparison.Ordinal) ? "secops@example.com" : route.EndsWith("/decision", StringComparison.Ordinal) ? "carol@example.com" : "pia@example.com";
        var body = "{\"comment\":\"" + new string('a', OverCap) + "\"}";
        HttpContent content = chunked ? new ChunkedContent(body) : new StringContent(body, Encoding.UTF8, "application/json");

        var request = new HttpRequestMessage(HttpMethod.Post, route.Replace("{id}", created.Id, StringComparison.Ordinal)) { Content = content };
        request.Headers.TransferEncodingChunked = chunked;

        var response = await _server.As(caller).SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var after = await Api.GetAsync(_server.As("pia@example.com"), created.Id);
        Assert.Empty(after.Decisions);
        Assert.Equal("pending", after.Status);
    }

    [Fact]
    public async Task A_route_without_a_body_ignores_one()
    {
        var created = await Api.CreateAsync(_server.As("quin@example.com"), Api.PolicyRequest());
        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/requests/{created.Id}")
        {
            Content = new StringContent(new string('x', OverCap)),
        };

        var response = await _server.As("quin@example.com").SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("UTF-8 bytes in a header", "GET /api/requests HTTP/1.1\r\nHost: localhost\r\nX-Dev-User: jos\u00c3\u00a9@example.com\r\nConnection: close\r\n\r\n", 401)]
    [InlineData("a request target over 8 KiB", "GET /api/health?q={long} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 414)]
    [InlineData("no such route", "GET /api/nothing HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 404)]
    [InlineData("a method the route does not take", "DELETE /api/requests HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", 405)]
    [InlineData("a NUL byte in a header", "GET /api/health HTTP/1.1\r\nHost: localhost\r\nX-Dev-User: a\u0000b@example.com\r\n\r\n", 400)]
    [InlineData("a header line without a colon", "GET /api/health HTTP/1.1\r\nHost: localhost\r\nnot a header\r\n\r\n", 400)]
    [InlineData("a malformed request line", "GET\u0001/api/health HTTP/1.1\r\nHost: localhost\r\n\r\n", 400)]
    [InlineData("a request line over 64 KiB", "GET /api/health?q={huge} HTTP/1.1\r\nHost: localhost\r\n\r\n", 414)]
    [InlineData("headers over 32 KiB", "GET /api/health HTTP/1.1\r\nHost: localhost\r\nX-Big: {long}\r\nX-Big2: {long}\r\n\r\n", 431)]
    public async Task Over_a_real_socket_what_the_server_refuses_is_a_problem_too(string what, string request, int expected)
    {
        var raw = Encoding.Latin1.GetBytes(request.Replace("{long}", new string('a', 20_000), StringComparison.Ordinal).Replace("{huge}", new string('a', 70_000), StringComparison.Ordinal));

        var (status, headers, body) = await _fixture.Kestrel.SendRawAsync(raw);

        Assert.True(status == expected, $"{what}: expected {expected}, got {status}");
        Assert.Contains("content-type: application/problem+json", headers, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(expected, JsonDocument.Parse(body).RootElement.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task On_a_kept_alive_connection_the_answer_before_a_refusal_is_untouched_and_the_refusal_is_a_problem()
    {
        var raw = Encoding.Latin1.GetBytes(
            "GET /api/health HTTP/1.1\r\nHost: localhost\r\n\r\n" +
            "GET /api/health HTTP/1.1\r\nHost: localhost\r\nnot a header\r\n\r\n");

        var text = await _fixture.Kestrel.SendRawForTextAsync(raw);

        var second = text.IndexOf("HTTP/1.1 400 ", StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", text, StringComparison.Ordinal);
        Assert.True(second > 0, text);
        var first = text[..second];
        Assert.DoesNotContain("problem+json", first, StringComparison.Ordinal);
        var refusal = text[second..];
        var split = refusal.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.Contains("Content-Type: application/problem+json", refusal[..split], StringComparison.Ordinal);
        var body = refusal[(split + 4)..];
        Assert.Contains($"Content-Length: {Encoding.UTF8.GetByteCount(body)}\r\n", refusal[..split], StringComparison.Ordinal);
        Assert.Equal(400, JsonDocument.Parse(body).RootElement.GetProperty("status").GetInt32());
    }

    /// <summary>A body of unknown length, so it is sent chunked, without a Content-Length to refuse it by.</summary>
    public sealed class ChunkedContent : HttpContent
    {
        private readonly byte[] _bytes;

        public ChunkedContent(string body)
            : this(Encoding.UTF8.GetBytes(body))
        {
            Headers.ContentType = new("application/json");
        }

        public ChunkedContent(byte[] bytes) => _bytes = bytes;

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(_bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    /// <summary>The server's store, except that reading one id throws what a broken dependency would.</summary>
    private sealed class FaultyRequestStore(SqliteAccessStore inner) : ForwardingRequestStore(inner)
    {
        public const string FaultyId = "fault-injected";
        public const string Secret = "connection string Password=hunter2 leaked by a driver";

        public override Task<AccessRequest?> GetAsync(string id, CancellationToken cancellationToken = default) =>
            id == FaultyId ? throw new InvalidOperationException(Secret) : base.GetAsync(id, cancellationToken);
    }

    public sealed class Fixture : IDisposable
    {
        public Fixture()
        {
            Server = new ServerFactory
            {
                TestServices = services => services.Replace(ServiceDescriptor.Singleton<IRequestStore>(sp => new FaultyRequestStore(sp.GetRequiredService<SqliteAccessStore>()))),
                Logging = logging => logging.AddProvider(Logs),
            };
        }

        public RecordingLoggerProvider Logs { get; } = new();

        /// <summary>The same server on a real Kestrel socket, for what the in-process test server never sees.</summary>
        public KestrelServer Kestrel { get; } = new();

        public ServerFactory Server { get; }

        public void Dispose()
        {
            Server.Dispose();
            Kestrel.Dispose();
        }
    }

    /// <summary>The server on Kestrel at a free port, spoken to in raw bytes.</summary>
    public sealed class KestrelServer : IDisposable
    {
        private readonly ServerFactory _factory = new();
        private readonly Uri _address;

        public KestrelServer()
        {
            _factory.UseKestrel(0);
            _factory.StartServer();
            _address = new Uri(_factory.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
                .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First());
        }

        /// <summary>Sends the bytes as they are and reads the whole answer (the request asks to close).</summary>
        public async Task<(int Status, string Headers, string Body)> SendRawAsync(byte[] request)
        {
            var text = await SendRawForTextAsync(request);
            var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            var head = split < 0 ? text : text[..split];
            var status = int.Parse(head.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
            return (status, head, split < 0 ? "" : Dechunk(head, text[(split + 4)..]));
        }

        /// <summary>Sends the bytes as they are and reads everything until the server closes the connection.</summary>
        public async Task<string> SendRawForTextAsync(byte[] request)
        {
            using var tcp = new System.Net.Sockets.TcpClient();
            await tcp.ConnectAsync(_address.Host, _address.Port);
            var stream = tcp.GetStream();
            await stream.WriteAsync(request);
            using var answer = new MemoryStream();
            await stream.CopyToAsync(answer).WaitAsync(TimeSpan.FromSeconds(30));
            return Encoding.UTF8.GetString(answer.ToArray());
        }

        public void Dispose() => _factory.Dispose();

        private static string Dechunk(string head, string body)
        {
            if (!head.Contains("transfer-encoding: chunked", StringComparison.OrdinalIgnoreCase))
            {
                return body;
            }

            var result = new StringBuilder();
            while (body.IndexOf("\r\n", StringComparison.Ordinal) is var eol and > 0)
            {
                var size = Convert.ToInt32(body[..eol], 16);
                if (size == 0)
                {
                    break;
                }

                result.Append(body, eol + 2, size);
                body = body[(eol + 2 + size + 2)..];
            }

            return result.ToString();
        }
    }
}
