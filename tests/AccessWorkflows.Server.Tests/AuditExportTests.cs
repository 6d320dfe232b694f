using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using AccessWorkflows.Storage;
using AccessWorkflows.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Server.Tests;

/// <summary><c>GET /api/audit</c> (SPEC 8, 13) through the running server: who may call it, what it refuses, NDJSON
/// in the schema docs/audit-export.md documents, and paging by the <c>Link</c> header.</summary>
public sealed partial class AuditExportTests : IClassFixture<AuditExportTests.Fixture>
{
    private const string Auditor = "audit@example.com";
    private const string Admin = "secops@example.com";

    /// <summary>Events appended here are in 2020, far from the ones the server's own requests write now.</summary>
    private static readonly DateTimeOffset Past = new(2020, 2, 29, 23, 59, 58, TimeSpan.Zero);

    private readonly ServerFactory _server;

    public AuditExportTests(Fixture fixture) => _server = fixture.Server;

    [Fact]
    public async Task Without_identity_the_answer_is_401_problem_json()
    {
        var response = await _server.CreateClient().GetAsync(Export(Past, Past.AddDays(1)));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("alice@example.com")]
    [InlineData("carol@example.com")] // an approver is not an auditor
    public async Task Anyone_but_auditors_and_admins_gets_403(string caller)
    {
        var response = await _server.As(caller).GetAsync(Export(Past, Past.AddDays(1)));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("")]
    [InlineData("?until=2020-03-01T00:00:00Z")]
    [InlineData("?since=2020-03-01T00:00:00Z")]
    [InlineData("?since=2020-03-01&until=2020-03-02T00:00:00Z")]
    [InlineData("?since=2020-03-01T00:00:00%2B00:00&until=2020-03-02T00:00:00Z")]
    [InlineData("?since=2020-03-01T00:00:00+00:00&until=2020-03-02T00:00:00Z")]
    [InlineData("?since=2020-03-01T00:00:00.12345678Z&until=2020-03-02T00:00:00Z")]
    [InlineData("?since=2020-13-01T00:00:00Z&until=2021-03-02T00:00:00Z")]
    [InlineData("?since=2020-02-30T00:00:00Z&until=2021-03-02T00:00:00Z")]
    [InlineData("?since=2020-03-01T00:00:00z&until=2020-03-02T00:00:00Z")]
    [InlineData("?since=%EF%BC%92020-03-01T00:00:00Z&until=2020-03-02T00:00:00Z")]
    [InlineData("?since=2020-03-02T00:00:00Z&until=2020-03-02T00:00:00Z")]
    [InlineData("?since=2020-03-02T00:00:00Z&until=2020-03-01T00:00:00Z")]
    [InlineData("?since=2020-03-01T00:00:00Z&since=2020-03-01T00:00:00Z&until=2020-03-02T00:00:00Z")]
    [InlineData("?since=2020-03-01T00:00:00Z&until=2020-03-02T00:00:00Z&pageSize=0")]
    [InlineData("?since=2020-03-01T00:00:00Z&until=2020-03-02T00:00:00Z&pageSize=1001")]
    [InlineData("?since=2020-03-01T00:00:00Z&until=2020-03-02T00:00:00Z&pageSize=-1")]
    [InlineData("?since=2020-03-01T00:00:00Z&until=2020-03-02T00:00:00Z&pageSize=ten")]
    public async Task Bounds_and_page_sizes_outside_the_grammar_are_400_problem_json(string query)
    {
        var response = await _server.As(Auditor).GetAsync("/api/audit" + query);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Pages_follow_the_Link_header_oldest_first_with_account_events_and_ties_in_append_order()
    {
        var since = Past.AddDays(-1);
        var until = Past.AddDays(1);
        var appended = await AppendAsync(
            ("created", "req-a", Past.AddSeconds(-5), "alice@example.com", "api"),
            ("tie-3", "req-a", Past, "system", "system"),
            ("tie-1", "account:111122223333", Past, "system", "system"),
            ("tie-2", "req-b", Past, "carol@example.com", "slack"),
            ("midnight", "req-b", Past.AddSeconds(2), "system", "system"), // the next UTC day
            ("drift", "account:111122223333", Past.AddHours(1), "system", "system"),
            ("last", "req-a", until.AddTicks(-1), "secops@example.com", "api"));
        await AppendAsync(("outside", "req-a", until, "system", "system"));

        var auditor = _server.As(Auditor);
        var pages = new List<List<JsonElement>>();
        var url = Export(since, until, pageSize: 3);
        while (url is not null)
        {
            var response = await auditor.GetAsync(url);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
            pages.Add(Lines(await response.Content.ReadAsStringAsync()));
            url = NextLink(response);
        }

        Assert.Equal([3, 3, 1], pages.Select(p => p.Count));
        var lines = pages.SelectMany(p => p).ToList();
        Assert.Equal(appended, lines.Select(l => l.GetProperty("id").GetString()));
        Assert.Equal("111122223333", lines[2].GetProperty("accountId").GetString());
        Assert.False(lines[2].TryGetProperty("requestId", out _));
        Assert.Equal("req-b", lines[3].GetProperty("requestId").GetString());
        Assert.Equal(Past.ToUnixTimeMilliseconds(), lines[1].GetProperty("time").GetInt64());
        Assert.Equal("carol@example.com", lines[3].GetProperty("actor").GetProperty("user").GetProperty("email_addr").GetString());
        Assert.All(lines, SchemaCheck.HasExactlyTheDocumentedFields);
    }

    [Fact]
    public async Task An_admin_exports_the_real_events_of_a_request_made_through_the_API()
    {
        var alice = _server.As("alice@example.com");
        var since = DateTimeOffset.UtcNow.AddMinutes(-5);
        var created = await Api.CreatePendingAsync(alice, Api.PolicyRequest());
        Assert.Equal(HttpStatusCode.Accepted, (await Api.DecideAsync(_server.As("carol@example.com"), created.Id, "deny", comment: "no \"quotes\"\nplease")).StatusCode);
        await WaitForAuditAsync(_server, created.Id, "request.denied");

        var response = await _server.As(Admin).GetAsync(Export(since, DateTimeOffset.UtcNow.AddMinutes(5), pageSize: 1000));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(NextLink(response));
        var ours = Lines(await response.Content.ReadAsStringAsync()).Where(l => l.TryGetProperty("requestId", out var r) && r.GetString() == created.Id).ToList();
        Assert.Equal(["request.created", "request.pending", "decision.denied", "request.denied"], ours.Select(l => l.GetProperty("type").GetString()));
        var first = ours[0];
        Assert.Equal("alice@example.com", first.GetProperty("actor").GetProperty("user").GetProperty("email_addr").GetString());
        Assert.Equal("api", first.GetProperty("channel").GetString());
        Assert.Equal("AccessWorkflows", first.GetProperty("metadata").GetProperty("product").GetProperty("name").GetString());
        Assert.EndsWith(": no \"quotes\"\nplease", ours[2].GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("system", ours[1].GetProperty("actor").GetProperty("user").GetProperty("name").GetString());
        Assert.False(ours[1].GetProperty("actor").GetProperty("user").TryGetProperty("email_addr", out _));
        Assert.All(ours, SchemaCheck.HasExactlyTheDocumentedFields);
    }

    [Fact]
    public async Task A_forged_malformed_or_foreign_continuation_token_is_400_never_5xx()
    {
        var since = Past.AddDays(10);
        var until = since.AddHours(1);
        await AppendAsync(("forge-1", "req-f", since, "system", "system"), ("forge-2", "req-f", since.AddMinutes(1), "system", "system"), ("forge-3", "req-f", since.AddMinutes(2), "system", "system"));
        var auditor = _server.As(Auditor);
        var first = await auditor.GetAsync(Export(since, until, pageSize: 1));
        var next = NextLink(first)!;
        var token = Uri.UnescapeDataString(TokenPattern().Match(next).Groups[1].Value);
        Assert.Equal(HttpStatusCode.OK, (await auditor.GetAsync(next)).StatusCode);

        var middle = token.Length / 2;
        var forged = token[..middle] + (token[middle] == 'A' ? 'B' : 'A') + token[(middle + 1)..];
        foreach (var bad in new[] { forged, token[..^3], token + token, "%00", "not-a-token", "../../etc", new string('A', 4000), "AQ" })
        {
            var response = await auditor.GetAsync(Export(since, until, pageSize: 1, token: bad));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        // A genuine token continues only the bounds it came from.
        Assert.Equal(HttpStatusCode.BadRequest, (await auditor.GetAsync(Export(since, until.AddSeconds(1), pageSize: 1, token: token))).StatusCode);
    }

    [Fact]
    public async Task An_empty_range_is_200_with_no_lines_and_no_Link()
    {
        var response = await _server.As(Auditor).GetAsync(Export(Past.AddYears(-10), Past.AddYears(-9)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await response.Content.ReadAsStringAsync());
        Assert.Null(NextLink(response));
    }

    [Fact]
    public async Task On_table_storage_the_export_pages_through_request_and_account_events()
    {
        var azurite = await Azurite.SharedAsync();
        await using var server = new ServerFactory(settings: new Dictionary<string, string?>
        {
            ["AccessWorkflows:Storage"] = "tables",
            ["AccessWorkflows:Tables:ConnectionString"] = azurite.ConnectionString,
            ["AccessWorkflows:Tables:TablePrefix"] = Azurite.NewTablePrefix(),
        });
        var alice = server.As("alice@example.com");
        var since = DateTimeOffset.UtcNow.AddMinutes(-5);
        var created = await Api.CreatePendingAsync(alice, Api.PolicyRequest());
        await WaitForAuditAsync(server, created.Id, "request.pending");
        var drift = new AuditEvent("drift-1", "account:111122223333", DateTimeOffset.UtcNow, "account.drift", "system", "system", "policy attached outside any grant");
        await server.Services.GetRequiredService<IAuditLog>().AppendAsync(drift);

        var auditor = server.As(Auditor);
        var lines = new List<JsonElement>();
        var url = Export(since, DateTimeOffset.UtcNow.AddMinutes(5), pageSize: 1);
        while (url is not null)
        {
            var response = await auditor.GetAsync(url);
            Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
            lines.Add(Assert.Single(Lines(await response.Content.ReadAsStringAsync())));
            url = NextLink(response);
        }

        Assert.Equal(
            [$"request.created {created.Id}", $"request.pending {created.Id}", "account.drift 111122223333"],
            lines.Select(l => $"{l.GetProperty("type").GetString()} {(l.TryGetProperty("requestId", out var r) ? r : l.GetProperty("accountId")).GetString()}"));
        Assert.All(lines, SchemaCheck.HasExactlyTheDocumentedFields);
    }

    /// <summary>A step's audit event is appended just after the request shows the step: wait for the event itself.</summary>
    private static Task<IReadOnlyList<AuditEvent>> WaitForAuditAsync(ServerFactory server, string requestId, string type) =>
        Eventually.Until(
            () => server.Services.GetRequiredService<IAuditLog>().ListAsync(requestId),
            events => events.Any(e => e.Type == type),
            $"request {requestId} has a {type} audit event");

    private async Task<List<string>> AppendAsync(params (string Id, string RequestId, DateTimeOffset At, string Actor, string Channel)[] events)
    {
        // Account events come from reconciliation, which no test here can drive through HTTP; the log is the same.
        var log = _server.Services.GetRequiredService<IAuditLog>();
        foreach (var (id, requestId, at, actor, channel) in events)
        {
            await log.AppendAsync(new AuditEvent(id, requestId, at, requestId.StartsWith("account:", StringComparison.Ordinal) ? "account.drift" : "request.pending", actor, channel, id == "drift" ? "policy X attached outside any grant" : null));
        }

        return [.. events.Select(e => e.Id)];
    }

    private static string Export(DateTimeOffset since, DateTimeOffset until, int? pageSize = null, string? token = null) =>
        $"/api/audit?since={since.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'}&until={until.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'}"
        + (pageSize is { } size ? $"&pageSize={size}" : "")
        + (token is null ? "" : $"&continuationToken={Uri.EscapeDataString(token)}");

    private static string? NextLink(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Link", out var values))
        {
            return null;
        }

        var match = LinkPattern().Match(Assert.Single(values));
        Assert.True(match.Success, $"Link header: {string.Join(", ", values)}");
        return match.Groups[1].Value;
    }

    /// <summary>Every line is one JSON object; the body ends with a newline unless it is empty.</summary>
    private static List<JsonElement> Lines(string body)
    {
        Assert.True(body.Length == 0 || body.EndsWith('\n'), "an NDJSON body ends every line with \\n");
        return [.. body.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line =>
        {
            using var document = JsonDocument.Parse(line);
            Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
            return document.RootElement.Clone();
        })];
    }

    [GeneratedRegex("^<(/api/audit\\?[^>]+)>; rel=\"next\"$")]
    private static partial Regex LinkPattern();

    [GeneratedRegex("continuationToken=([^&]+)")]
    private static partial Regex TokenPattern();

    public sealed class Fixture : IDisposable
    {
        public ServerFactory Server { get; } = new();

        public void Dispose() => Server.Dispose();
    }
}

/// <summary>The field table of docs/audit-export.md, read from the repository, checked against exported lines.</summary>
internal static partial class SchemaCheck
{
    private static readonly Lazy<IReadOnlyList<(string Path, string Presence)>> Fields = new(ReadDocumentedFields);

    public static void HasExactlyTheDocumentedFields(JsonElement line)
    {
        var present = new HashSet<string>(StringComparer.Ordinal);
        Collect(line, "", present);
        var isAccount = line.TryGetProperty("accountId", out _);
        var actor = line.GetProperty("actor").GetProperty("user").GetProperty("name").GetString()!;
        foreach (var (path, presence) in Fields.Value)
        {
            var expected = presence switch
            {
                "always" => true,
                "request events" => !isAccount,
                "account events" => isAccount,
                "person actors" => actor.Contains('@', StringComparison.Ordinal),
                _ => throw new InvalidOperationException($"docs/audit-export.md: unknown presence '{presence}' for {path}"),
            };
            Assert.True(expected == present.Contains(path), $"{path} ({presence}) {(expected ? "missing from" : "unexpected in")} {line}");
        }

        var undocumented = present.Except(Fields.Value.Select(f => f.Path)).ToList();
        Assert.True(undocumented.Count == 0, $"undocumented fields {string.Join(", ", undocumented)} in {line}");
    }

    private static void Collect(JsonElement element, string prefix, HashSet<string> paths)
    {
        foreach (var property in element.EnumerateObject())
        {
            var path = prefix + property.Name;
            if (property.Value.ValueKind == JsonValueKind.Object)
            {
                Collect(property.Value, path + ".", paths);
            }
            else
            {
                paths.Add(path);
            }
        }
    }

    private static List<(string, string)> ReadDocumentedFields()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "docs", "audit-export.md")))
        {
            directory = directory.Parent;
        }

        var doc = File.ReadAllLines(Path.Combine(directory?.FullName ?? throw new FileNotFoundException("docs/audit-export.md is not above the test's folder."), "docs", "audit-export.md"));
        var fields = doc.SkipWhile(l => l != "## Schema").Select(l => FieldRow().Match(l)).Where(m => m.Success).Select(m => (m.Groups[1].Value, m.Groups[2].Value)).ToList();
        Assert.True(fields.Count >= 10, "docs/audit-export.md documents the fields in a table");
        return fields;
    }

    /// <summary><c>| `field` | type | presence | meaning |</c></summary>
    [GeneratedRegex(@"^\| `([a-z_A-Z.]+)` \| [^|]+ \| ([a-z ]+) \|")]
    private static partial Regex FieldRow();
}
