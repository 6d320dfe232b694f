using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using AccessWorkflows.Benchmarks;
using AccessWorkflows.Slack.Http;
using AccessWorkflows.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

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

await using var bench = await AckBenchmark.StartServerAsync(
    "slack",
    "slackChannel: C0APPROVE",
    "--AccessWorkflows:Slack:SigningSecret", Secret,
    "--AccessWorkflows:Slack:BotToken", Token,
    "--AccessWorkflows:Slack:ApiBaseUrl", new Uri(slack.BaseAddress, "api/").ToString(),

    // Room for every click of a run: the acknowledgement is what is measured, not the 503 of a full backlog.
    "--AccessWorkflows:Slack:QueueCapacity", ((requests * concurrencies.Length) + 1000).ToString(CultureInfo.InvariantCulture));
var http = bench.Http;

// One pending request to click on.
var requestId = await AckBenchmark.CreateRequestAsync(http, "bench");

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

var coldRow = await AckBenchmark.FirstAsync(ClickAsync);
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


var report = new StringBuilder().AppendLine(coldRow).AppendLine().AppendLine(AckBenchmark.Header);
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
