using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;

namespace AccessWorkflows.Benchmarks;

/// <summary>
/// What the acknowledgement harnesses (Slack, Teams) share: arguments, closed-loop clients at a fixed concurrency,
/// percentiles of the time to a read response, the report table and the machine line.
/// </summary>
public static class AckBenchmark
{
    public const string Header = "| concurrency | requests | non-200 | p50 ms | p90 ms | p99 ms | max ms | req/s |\n|---|---|---|---|---|---|---|---|";

    /// <summary><c>[requests] [concurrency...] [--out file.md]</c>.</summary>
    public static (int Requests, int[] Concurrencies, string? OutPath) ParseArgs(string[] args, int[] defaultConcurrencies)
    {
        var positional = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToList();
        var outIndex = Array.IndexOf(args, "--out");
        var outPath = outIndex >= 0 && outIndex + 1 < args.Length ? args[outIndex + 1] : null;
        if (outPath is not null)
        {
            positional.Remove(outPath);
        }

        var requests = positional.Count > 0 ? int.Parse(positional[0], CultureInfo.InvariantCulture) : 3000;
        var concurrencies = positional.Count > 1 ? [.. positional.Skip(1).Select(c => int.Parse(c, CultureInfo.InvariantCulture))] : defaultConcurrencies;
        return (requests, concurrencies, outPath);
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
