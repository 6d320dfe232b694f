using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using AccessWorkflows.Server.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Benchmarks;

/// <summary>
/// What the acknowledgement harnesses (Slack, Teams) share: arguments, closed-loop clients at a fixed concurrency,
/// percentiles of the time to a read response, the report table and the machine line.
/// </summary>
public static class AckBenchmark
{
    public const string Header = "| concurrency | requests | non-200 | p50 ms | p90 ms | p99 ms | max ms | req/s |\n|---|---|---|---|---|---|---|---|";

    /// <summary><c>[requests] [concurrency...] [--out file.md]</c>; every <c>--name</c> takes one value.</summary>
    public static (int Requests, int[] Concurrencies, string? OutPath) ParseArgs(string[] args, int[] defaultConcurrencies)
    {
        var positional = args.Where((a, i) => !a.StartsWith("--", StringComparison.Ordinal) && (i == 0 || !args[i - 1].StartsWith("--", StringComparison.Ordinal))).ToList();
        var outPath = Option(args, "--out");

        var requests = positional.Count > 0 ? int.Parse(positional[0], CultureInfo.InvariantCulture) : 3000;
        var concurrencies = positional.Count > 1 ? [.. positional.Skip(1).Select(c => int.Parse(c, CultureInfo.InvariantCulture))] : defaultConcurrencies;
        return (requests, concurrencies, outPath);
    }

    /// <summary>
    /// The real server (embedded engine, SQLite store, sandbox account, Development auth) on a loopback port, with one
    /// rule whose level-1 approvers (carol) are notified as <paramref name="notify"/> says (e.g. <c>slackChannel: C0X</c>),
    /// and the channel's own settings in <paramref name="channelArgs"/>.
    /// </summary>
    public static async Task<BenchServer> StartServerAsync(string name, string notify, params string[] channelArgs)
    {
        var data = Path.Combine(Path.GetTempPath(), $"aw-{name}-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(data);
        var rules = Path.Combine(data, "rules.yaml");
        await File.WriteAllTextAsync(rules, $$"""
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
                      notify: { {{notify}} }
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

            // One clicker sends thousands of clicks a minute here: the per-identity rate limit would answer most of
            // them 429, and what is measured is the time to answer a click, not the limit.
            "--AccessWorkflows:RateLimit:Enabled", "false",
            .. channelArgs,
        ]);
        await server.StartAsync();
        var address = new Uri(server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = address };
        return new BenchServer(server, http, data);
    }

    /// <summary>Asks for ReadOnlyAccess in the sandbox account as alice; the new request's id.</summary>
    public static async Task<string> CreateRequestAsync(HttpClient http, string reason)
    {
        using var create = new HttpRequestMessage(HttpMethod.Post, "/api/requests")
        {
            Content = JsonContent.Create(new { accountId = "111122223333", access = new { type = "policy", policyArn = "arn:aws:iam::aws:policy/ReadOnlyAccess" }, reason }),
        };
        create.Headers.Add("X-Dev-User", "alice@example.com");
        using var response = await http.SendAsync(create);
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            throw new InvalidOperationException($"POST /api/requests answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }

        var created = await response.Content.ReadFromJsonAsync<JsonNode>();
        return created!["id"]!.GetValue<string>();
    }

    /// <summary>The value after <paramref name="name"/>, or null.</summary>
    public static string? Option(string[] args, string name)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }

    /// <summary>Times one request from send until its whole response has been read.</summary>
    public static async Task<(double Ms, HttpStatusCode Status)> TimeAsync(HttpClient http, HttpRequestMessage request)
    {
        var watch = Stopwatch.StartNew();
        using var response = await http.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        return (watch.Elapsed.TotalMilliseconds, response.StatusCode);
    }

    /// <summary><paramref name="count"/> requests from <paramref name="concurrency"/> clients, each sending its next one
    /// when the last was answered.</summary>
    public static async Task<(List<(double Ms, HttpStatusCode Status)> Results, TimeSpan Wall)> RunAsync(int count, int concurrency, Func<Task<(double Ms, HttpStatusCode Status)>> send)
    {
        var results = new List<(double, HttpStatusCode)>(count);
        var left = count;
        var wall = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            while (Interlocked.Decrement(ref left) >= 0)
            {
                var r = await send();
                lock (results)
                {
                    results.Add(r);
                }
            }
        }));
        return (results, wall.Elapsed);
    }

    /// <summary>Times the first click after the server started, before any warm-up, and prints it: the platform's
    /// deadline (Slack's is 3 s) holds for it too, with the route, the verifier and the queue still to be compiled.
    /// Returns the printed line for the report.</summary>
    public static async Task<string> FirstAsync(Func<Task<(double Ms, HttpStatusCode Status)>> send)
    {
        var (ms, status) = await send();
        var line = string.Create(CultureInfo.InvariantCulture, $"First click after start (cold): {ms:F1} ms, HTTP {(int)status}");
        Console.WriteLine(line);
        return line;
    }

    /// <summary>One table row; percentiles over the 200 answers only.</summary>
    public static string Row(int concurrency, List<(double Ms, HttpStatusCode Status)> results, TimeSpan wall)
    {
        var ok = results.Where(r => r.Status == HttpStatusCode.OK).Select(r => r.Ms).Order().ToList();
        var notOk = results.Count - ok.Count;
        if (ok.Count == 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"| {concurrency} | {results.Count} | {notOk} | - | - | - | - | - |");
        }

        return string.Create(CultureInfo.InvariantCulture, $"| {concurrency} | {results.Count} | {notOk} | {Percentile(ok, 50):F2} | {Percentile(ok, 90):F2} | {Percentile(ok, 99):F2} | {ok[^1]:F2} | {results.Count / wall.TotalSeconds:F0} |");
    }

    public static double Percentile(List<double> sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];

    /// <summary>Polls <paramref name="done"/> every 100 ms until it holds or <paramref name="timeout"/> passes.</summary>
    public static async Task<bool> WaitUntilAsync(Func<Task<bool>> done, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (!await done())
        {
            if (DateTime.UtcNow >= until)
            {
                return false;
            }

            await Task.Delay(100);
        }

        return true;
    }

    public static string Machine()
    {
        var cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "unknown";
        return $"{RuntimeInformation.OSDescription}, {RuntimeInformation.OSArchitecture}, {Environment.ProcessorCount} logical CPUs ({cpu ?? "unknown CPU"}), .NET {Environment.Version}, /proc/loadavg at the end: {load}";
    }

    public static async Task WriteReportAsync(string? outPath, StringBuilder report)
    {
        var machine = Machine();
        Console.WriteLine(machine);
        if (outPath is not null)
        {
            await File.WriteAllTextAsync(outPath, $"<!-- generated {DateTimeOffset.UtcNow:u} on {machine} -->\n{report}");
        }
    }
}

/// <summary>A started benchmark server, its client, and its data folder (removed on dispose).</summary>
public sealed record BenchServer(WebApplication App, HttpClient Http, string DataDirectory) : IAsyncDisposable
{
    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
