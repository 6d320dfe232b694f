using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using AccessWorkflows.Benchmarks;
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
var (requests, concurrencies, outPath) = AckBenchmark.ParseArgs(args, [1, 8]);

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
    return await AckBenchmark.TimeAsync(http, request);
}

await AckBenchmark.RunAsync(300, 4, ClickAsync); // warm-up: JIT, connection pool, the users.info cache
await AckBenchmark.WaitUntilAsync(() => Task.FromResult(Interlocked.Read(ref ephemeralCalls) >= 300), TimeSpan.FromSeconds(60));
var rows = new List<string>();
var drainRows = new List<string>();
const int drainSeconds = 60;
foreach (var concurrency in concurrencies)
{
    var before = Interlocked.Read(ref ephemeralCalls);
    var (results, wall) = await AckBenchmark.RunAsync(requests, concurrency, ClickAsync);
    var row = AckBenchmark.Row(concurrency, results, wall);
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
    var drainRate = drained / (wall.TotalSeconds + Math.Max(0, drainSeconds - (waitUntil - DateTime.UtcNow).TotalSeconds));
    var drainRow = string.Create(CultureInfo.InvariantCulture, $"| {concurrency} | {drained} | {drainRate:F1} |");
    drainRows.Add(drainRow);
    Console.WriteLine(drainRow);
}

await server.StopAsync();
await server.DisposeAsync();

var report = new StringBuilder().AppendLine(AckBenchmark.Header);
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

await AckBenchmark.WriteReportAsync(outPath, report);

try
{
    Directory.Delete(data, recursive: true);
}
catch (IOException)
{
}
