using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using AccessWorkflows.Server.Hosting;
using AccessWorkflows.Slack.Http;
using AccessWorkflows.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

// Load harness: how long the real server takes to acknowledge signed Slack block_actions over loopback.
// Usage: dotnet run -c Release --project bench/AccessWorkflows.Slack.Benchmarks -- [requests] [concurrency...] [--out file.md]
// Each click is an Approve by someone who is not an approver, so every one does the whole path behind the
// acknowledgement too (users.info, the decision check, an audit entry, chat.postEphemeral) and the request stays
// pending; the acknowledgement itself is what is timed.
const string Secret = "bench-signing-secret";
const string Token = "xoxb-bench";
var positional = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
var outIndex = Array.IndexOf(args, "--out");
var outPath = outIndex >= 0 && outIndex + 1 < args.Length ? args[outIndex + 1] : null;
if (outPath is not null)
{
    positional.Remove(outPath);
}

var requests = positional.Count > 0 ? int.Parse(positional[0], CultureInfo.InvariantCulture) : 3000;
var concurrencies = positional.Count > 1 ? positional.Skip(1).Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray() : [1, 8];

long ephemeralCalls = 0;
await using var slack = await LoopbackServer.StartAsync(app => app.MapPost("/api/{method}", (string method, HttpContext c) =>
{
    if (c.Request.Headers.Authorization != "Bearer " + Token)
    {
        return Results.Json(new { ok = false, error = "invalid_auth" });
    }

    return method switch
    {
        "users.info" => Results.Json(new { ok = true, user = new { id = "U0MALLORY", deleted = false, is_bot = false, profile = new { email = "mallory@example.com" } } }),
        "chat.postEphemeral" => Results.Json(new { ok = true, message_ts = Interlocked.Increment(ref ephemeralCalls).ToString(CultureInfo.InvariantCulture) }),
        "users.lookupByEmail" => Results.Json(new { ok = false, error = "users_not_found" }),
        _ => Results.Json(new { ok = true, channel = "C0APPROVE", ts = "1.000001" }),
    };
}));

var data = Path.Combine(Path.GetTempPath(), "aw-slack-bench", Guid.NewGuid().ToString("N"));
Directory.CreateDirectory(data);
var rules = Path.Combine(data, "rules.yaml");
await File.WriteAllTextAsync(rules, """
    admins: [secops@example.com]
    approverGroups:
      leads: [carol@example.com]
    accounts:
      - id: "111122223333"
        name: sandbox
        provider: sandbox
    rules:
      - name: standard
        requesters: ["*@example.com"]
        accounts: ["111122223333"]
        access:
          policies: ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
        defaultDuration: PT1H
        maxDuration: PT8H
        approval:
          levels:
            - approvers: [group:leads]
              notify: { slackChannel: C0APPROVE }
          approvalWindow: P1D
    """);

var server = AccessWorkflowsServer.Build(
[
    "--urls", "http://127.0.0.1:0",
    "--environment", "Development",
    "--Logging:LogLevel:Default", "Warning",
    "--AccessWorkflows:RulesPath", rules,
    "--AccessWorkflows:Sqlite:Path", Path.Combine(data, "aw.db"),
    "--AccessWorkflows:Durable:Path", Path.Combine(data, "durable.db"),
    "--AccessWorkflows:Auth:Mode", "Development",
    "--AccessWorkflows:Slack:SigningSecret", Secret,
    "--AccessWorkflows:Slack:BotToken", Token,
    "--AccessWorkflows:Slack:ApiBaseUrl", new Uri(slack.BaseAddress, "api/").ToString(),

    // Room for every click of a run: the acknowledgement is what is measured, not the 503 of a full backlog.
    "--AccessWorkflows:Slack:QueueCapacity", ((requests * concurrencies.Length) + 1000).ToString(CultureInfo.InvariantCulture),
]);
await server.StartAsync();
var baseAddress = new Uri(server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = baseAddress };

// One pending request to click on.
using var create = new HttpRequestMessage(HttpMethod.Post, "/api/requests")
{
    Content = JsonContent.Create(new { accountId = "111122223333", access = new { type = "policy", policyArn = "arn:aws:iam::aws:policy/ReadOnlyAccess" }, reason = "bench" }),
};
create.Headers.Add("X-Dev-User", "alice@example.com");
var created = await (await http.SendAsync(create)).Content.ReadFromJsonAsync<JsonNode>();
var requestId = created!["id"]!.GetValue<string>();

var clickNumber = 0;
async Task<(double Ms, HttpStatusCode Status)> ClickAsync()
{
    var n = Interlocked.Increment(ref clickNumber);
    var payload = new JsonObject
    {
        ["type"] = "block_actions",
        ["user"] = new JsonObject { ["id"] = "U0MALLORY", ["username"] = "mallory", ["team_id"] = "T0" },
        ["container"] = new JsonObject { ["type"] = "message", ["message_ts"] = "1.000001", ["channel_id"] = "C0APPROVE" },
        ["trigger_id"] = "trig-" + n,
        ["channel"] = new JsonObject { ["id"] = "C0APPROVE" },
        ["state"] = new JsonObject { ["values"] = new JsonObject() },
        ["actions"] = new JsonArray { new JsonObject { ["action_id"] = "approve", ["block_id"] = "decide", ["type"] = "button", ["value"] = requestId, ["action_ts"] = $"1700000000.{n:D6}" } },
    };
    var body = "payload=" + Uri.EscapeDataString(payload.ToJsonString());
    var ts = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
    using var request = new HttpRequestMessage(HttpMethod.Post, "/api/slack/interactions")
    {
        Content = new StringContent(body, Encoding.UTF8, "application/x-www-form-urlencoded"),
    };
    request.Headers.Add("X-Slack-Request-Timestamp", ts);
    request.Headers.Add("X-Slack-Signature", SlackRequestVerifier.Sign(Secret, ts, Encoding.UTF8.GetBytes(body)));
    var watch = Stopwatch.StartNew();
    using var response = await http.SendAsync(request);
    await response.Content.ReadAsByteArrayAsync();
    return (watch.Elapsed.TotalMilliseconds, response.StatusCode);
}

async Task<List<(double Ms, HttpStatusCode Status)>> RunAsync(int count, int concurrency)
{
    var results = new List<(double, HttpStatusCode)>(count);
    var left = count;
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
    {
        while (Interlocked.Decrement(ref left) >= 0)
        {
            var r = await ClickAsync();
            lock (results)
            {
                results.Add(r);
            }
        }
    }));
    return results;
}

static double Percentile(List<double> sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];

await RunAsync(300, 4); // warm-up: JIT, connection pool, the users.info cache
for (var until = DateTime.UtcNow.AddSeconds(60); Interlocked.Read(ref ephemeralCalls) < 300 && DateTime.UtcNow < until;)
{
    await Task.Delay(100);
}
var rows = new List<string>();
var drainRows = new List<string>();
const int drainSeconds = 60;
foreach (var concurrency in concurrencies)
{
    var before = Interlocked.Read(ref ephemeralCalls);
    var wall = Stopwatch.StartNew();
    var results = await RunAsync(requests, concurrency);
    wall.Stop();
    var ok = results.Where(r => r.Status == HttpStatusCode.OK).Select(r => r.Ms).Order().ToList();
    var notOk = results.Count - ok.Count;
    var row = string.Create(CultureInfo.InvariantCulture, $"| {concurrency} | {results.Count} | {notOk} | {Percentile(ok, 50):F2} | {Percentile(ok, 90):F2} | {Percentile(ok, 99):F2} | {ok[^1]:F2} | {results.Count / wall.Elapsed.TotalSeconds:F0} |");
    rows.Add(row);
    Console.WriteLine(row);
    // The work behind the acknowledgements (users.info, the decision check and its audit entry, chat.postEphemeral)
    // drains from the queue afterwards; its rate is bounded by the store, so it is reported separately.
    var target = before + requests;
    var waitUntil = DateTime.UtcNow.AddSeconds(drainSeconds);
    while (Interlocked.Read(ref ephemeralCalls) < target && DateTime.UtcNow < waitUntil)
    {
        await Task.Delay(100);
    }

    var drained = Interlocked.Read(ref ephemeralCalls) - before;
    var drainRate = drained / (wall.Elapsed.TotalSeconds + Math.Max(0, drainSeconds - (waitUntil - DateTime.UtcNow).TotalSeconds));
    var drainRow = string.Create(CultureInfo.InvariantCulture, $"| {concurrency} | {drained} | {drainRate:F1} |");
    drainRows.Add(drainRow);
    Console.WriteLine(drainRow);
}

await server.StopAsync();
await server.DisposeAsync();

var cpu = File.Exists("/proc/cpuinfo")
    ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
    : null;
var machine = $"{RuntimeInformation.OSDescription}, {RuntimeInformation.OSArchitecture}, {Environment.ProcessorCount} logical CPUs ({cpu ?? "unknown CPU"}), .NET {Environment.Version}";
var report = new StringBuilder()
    .AppendLine("| concurrency | requests | non-200 | p50 ms | p90 ms | p99 ms | max ms | req/s |")
    .AppendLine("|---|---|---|---|---|---|---|---|");
foreach (var r in rows)
{
    report.AppendLine(r);
}

report.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Work behind the acknowledgements, processed while each run and the {drainSeconds} s after it lasted (backlog of an earlier run included):").AppendLine()
    .AppendLine("| concurrency | clicks processed | clicks/s |").AppendLine("|---|---|---|");
foreach (var r in drainRows)
{
    report.AppendLine(r);
}

Console.WriteLine(machine);
if (outPath is not null)
{
    await File.WriteAllTextAsync(outPath, $"<!-- generated {DateTimeOffset.UtcNow:u} on {machine} -->\n{report}");
}

try
{
    Directory.Delete(data, recursive: true);
}
catch (IOException)
{
}
