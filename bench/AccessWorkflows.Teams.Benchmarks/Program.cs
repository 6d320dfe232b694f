using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AccessWorkflows.Benchmarks;
using AccessWorkflows.Teams.Tests.Fakes;

// Load harness: how long the real server takes to answer Teams Action.Execute invokes (the answer is the card the
// clicker sees) over loopback, beside bench/AccessWorkflows.Slack.Benchmarks.
// Usage: dotnet run -c Release --project bench/AccessWorkflows.Teams.Benchmarks -- [clicks] [concurrency...] [--approvals n] [--out file.md]
// Run 1: Approve clicks by someone who is not an approver, so every one does the whole path behind the answer too
// (the decision check in the core and its decision.refused audit entry) and the request stays pending.
// Run 2: Approve clicks by the approver, each on its own pending request, so every one is a decision that counts
// (durable event, then approval, provisioning and card updates behind it).
var (clicks, concurrencies, outPath) = AckBenchmark.ParseArgs(args, [8, 32]);
var approvalsPerRun = int.Parse(AckBenchmark.Option(args, "--approvals") ?? "200", CultureInfo.InvariantCulture);
const string Channel = "19:approvers@thread.tacv2";
const string TeamId = "19:team-general@thread.tacv2";

await using var auth = await FakeBotFrameworkAuth.StartAsync();
await using var connector = await FakeBotConnector.StartAsync();
connector.AddMember("29:alice", "alice@example.com", "aad-alice");
connector.AddMember("29:carol", "carol@example.com", "aad-carol");
connector.AddMember("29:mallory", "mallory@example.com", "aad-mallory");
connector.TeamChannels[TeamId] = [TeamId, Channel];

await using var bench = await AckBenchmark.StartServerAsync(
    "teams",
    $"teamsChannel: \"{Channel}\"",
    "--AccessWorkflows:Teams:AppId", FakeBotConnector.AppId,
    "--AccessWorkflows:Teams:AppPassword", FakeBotConnector.AppPassword,
    "--AccessWorkflows:Teams:TenantId", FakeBotConnector.TenantId,
    "--AccessWorkflows:Teams:OpenIdMetadataUrl", auth.MetadataUrl,
    "--AccessWorkflows:Teams:LoginBaseUrl", connector.LoginBaseUrl,

    // Room for every click of a run: the answer is what is measured, not the "busy" card of a full backlog.
    "--AccessWorkflows:Teams:QueueCapacity", ((clicks * concurrencies.Length) + 1000).ToString(CultureInfo.InvariantCulture));
var http = bench.Http;

// The channel service reuses a token for its lifetime; so does this client.
var token = auth.Token(FakeBotConnector.AppId, connector.ServiceUrl);
HttpRequestMessage Activity(JsonObject activity)
{
    var request = new HttpRequestMessage(HttpMethod.Post, "/api/teams/messages")
    {
        Content = new StringContent(activity.ToJsonString(), Encoding.UTF8, "application/json"),
    };
    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
    return request;
}

async Task SendOkAsync(JsonObject activity)
{
    using var request = Activity(activity);
    using var response = await http.SendAsync(request);
    if (response.StatusCode != HttpStatusCode.OK)
    {
        throw new InvalidOperationException($"Setup activity answered {(int)response.StatusCode}");
    }
}

await SendOkAsync(Activities.TeamInstall(connector.ServiceUrl, TeamId));
foreach (var user in new[] { "alice", "carol", "mallory" })
{
    await SendOkAsync(Activities.PersonalInstall(connector.ServiceUrl, "29:" + user, "aad-" + user));
}

async Task<int> AuditCountAsync(string requestId, string type)
{
    using var get = new HttpRequestMessage(HttpMethod.Get, $"/api/requests/{requestId}/audit");
    get.Headers.Add("X-Dev-User", "secops@example.com");
    using var response = await http.SendAsync(get);
    var body = await response.Content.ReadFromJsonAsync<JsonNode>();
    return body?["items"] is JsonArray items ? items.Count(e => e?["type"]?.GetValue<string>() == type) : 0;
}

/// <summary>The approval cards in the channel, by request id (the card's first fact).</summary>
Dictionary<string, string> CardsByRequest() => connector.MessagesIn(Channel)
    .Select(m => (m.Id, Request: FakeBotConnector.Card(m.Latest)?.ToJsonString()))
    .Where(m => m.Request is not null)
    .SelectMany(m => Regex.Matches(m.Request!, "\"Request\",\"value\":\"([^\"]+)\"").Select(x => (x.Groups[1].Value, m.Id)))
    .GroupBy(x => x.Item1)
    .ToDictionary(g => g.Key, g => g.First().Item2);

async Task<(double Ms, HttpStatusCode Status)> ClickAsync(string userId, string requestId, string cardId)
{
    using var request = Activity(Activities.Execute(connector.ServiceUrl, userId, "approve", new JsonObject { ["requestId"] = requestId }, Channel, cardId));
    return await AckBenchmark.TimeAsync(http, request);
}

// One pending request for the strangers to click on.
var pendingId = await AckBenchmark.CreateRequestAsync(http, "bench");
await AckBenchmark.WaitUntilAsync(() => Task.FromResult(CardsByRequest().ContainsKey(pendingId)), TimeSpan.FromSeconds(60));
var pendingCard = CardsByRequest()[pendingId];

Task<(double Ms, HttpStatusCode Status)> StrangerClickAsync() => ClickAsync("29:mallory", pendingId, pendingCard);

var coldRow = await AckBenchmark.FirstAsync(StrangerClickAsync);
await AckBenchmark.RunAsync(300, 4, StrangerClickAsync); // warm-up: JIT, connection pool, key and member caches
await AckBenchmark.WaitUntilAsync(async () => await AuditCountAsync(pendingId, "decision.refused") >= 300, TimeSpan.FromSeconds(120));

var report = new StringBuilder()
    .AppendLine(coldRow).AppendLine()
    .AppendLine("Run 1: Approve by a stranger (refused at once; the core's check and its audit entry behind the answer)").AppendLine()
    .AppendLine(AckBenchmark.Header);
var drainRows = new List<string>();
foreach (var concurrency in concurrencies)
{
    var before = await AuditCountAsync(pendingId, "decision.refused");
    var cpuBefore = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
    var (results, wall) = await AckBenchmark.RunAsync(clicks, concurrency, StrangerClickAsync);
    var cpuAnswers = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
    var row = AckBenchmark.Row(concurrency, results, wall);
    report.AppendLine(row);
    Console.WriteLine(row);

    // The queued commands drain afterwards, each with its synchronous audit write; reported apart from the answers.
    var drainWatch = System.Diagnostics.Stopwatch.StartNew();
    await AckBenchmark.WaitUntilAsync(async () => await AuditCountAsync(pendingId, "decision.refused") >= before + clicks, TimeSpan.FromSeconds(120));
    var drained = await AuditCountAsync(pendingId, "decision.refused") - before;
    var cpuAll = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
    var drainRow = string.Create(CultureInfo.InvariantCulture, $"| {concurrency} | {drained} | {drained / (wall + drainWatch.Elapsed).TotalSeconds:F1} | {cpuAnswers.TotalMicroseconds / clicks:F0} | {cpuAll.TotalMicroseconds / clicks:F0} |");
    drainRows.Add(drainRow);
    Console.WriteLine(drainRow);
}

// CPU is the whole process's (Process.TotalProcessorTime): the server, the work behind the answers, and this harness's
// own clients, which share the process; so it compares builds, not the server alone.
report.AppendLine().AppendLine("Commands behind the answers, processed while each run and its drain lasted, and the process's CPU per click (server and these clients):").AppendLine()
    .AppendLine("| concurrency | refusals audited | per second | CPU µs per click, during the clicks | CPU µs per click, clicks and drain |").AppendLine("|---|---|---|---|---|");
foreach (var r in drainRows)
{
    report.AppendLine(r);
}

report.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"Run 2: Approve by the approver, each click on its own pending request ({approvalsPerRun} per run)").AppendLine()
    .AppendLine(AckBenchmark.Header);
foreach (var concurrency in concurrencies)
{
    var ids = new List<string>();
    for (var i = 0; i < approvalsPerRun; i++)
    {
        ids.Add(await AckBenchmark.CreateRequestAsync(http, $"bench approval {concurrency}-{i}"));
    }

    await AckBenchmark.WaitUntilAsync(() => Task.FromResult(ids.All(CardsByRequest().ContainsKey)), TimeSpan.FromSeconds(300));
    var cards = CardsByRequest();
    var next = -1;
    var (results, wall) = await AckBenchmark.RunAsync(ids.Count, concurrency, () =>
    {
        var id = ids[Interlocked.Increment(ref next)];
        return ClickAsync("29:carol", id, cards[id]);
    });
    var row = AckBenchmark.Row(concurrency, results, wall);
    report.AppendLine(row);
    Console.WriteLine(row);
}

await AckBenchmark.WriteReportAsync(outPath, report);
