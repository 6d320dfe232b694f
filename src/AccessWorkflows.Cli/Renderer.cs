using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using AccessWorkflows.Requests;

namespace AccessWorkflows.Cli;

/// <summary>
/// Prints what the server answered: for people, aligned columns with durations as 30m / 2h and times in the reader's
/// time zone with the date and the offset; for scripts (<c>--output json</c>), the server's JSON unchanged.
/// </summary>
internal sealed class Renderer(TextWriter output, TimeZoneInfo timeZone, bool json)
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>One request on one line, starting with its id (scripts cut it with <c>cut -d' ' -f1</c>).</summary>
    public Task RequestAsync(JsonObject r) => json ? JsonAsync(r) : output.WriteLineAsync(Summary(r));

    public async Task DetailAsync(JsonObject r)
    {
        if (json)
        {
            await JsonAsync(r);
            return;
        }

        var rows = new List<(string, string)>
        {
            ("id", Text(r["id"])),
            ("status", Text(r["status"]) + (r["statusDetail"] is { } detail ? $" ({detail})" : "")),
            ("requester", Text(r["requester"]) + (r["onBehalfOf"] is { } behalf ? $" for {behalf}" : "")),
            ("access", Access(r)),
            ("account", Text(r["accountId"])),
            ("duration", Human(r["duration"]) + (r["grantedDuration"] is { } granted ? $" (granted {Human(granted)})" : "")),
            ("reason", Text(r["reason"])),
            ("rule", Text(r["ruleName"])),
            ("created", Time(r["createdAt"])),
            ("granted", Time(r["grantedAt"])),
            ("expires", Time(r["expiresAt"])),
            ("ended", Time(r["endedAt"]) + (r["endedBy"] is { } by ? $" by {by}" : "")),
        };
        foreach (var d in r["decisions"]?.AsArray() ?? [])
        {
            var comment = d!["comment"] is { } c ? $": {c}" : "";
            var shortened = d["duration"] is { } dd ? $" for {Human(dd)}" : "";
            rows.Add(("decision", $"{d["decision"]} by {d["approver"]} via {d["channel"]} at {Time(d["at"])}{shortened}{comment}"));
        }

        foreach (var e in r["extensions"]?.AsArray() ?? [])
        {
            var until = e!["expiresAt"] is { } to ? $", until {Time(to)}" : "";
            var decided = e["decidedBy"] is { } decider ? $" by {decider}" : "";
            rows.Add(("extension", $"{Human(e["duration"])} {e["status"]}{decided} (asked by {e["requestedBy"]} via {e["channel"]}{until})"));
        }

        foreach (var (key, value) in rows.Where(row => row.Item2.Length > 0))
        {
            await output.WriteLineAsync($"{key,-10} {value}");
        }
    }

    public async Task ListAsync(JsonObject page)
    {
        if (json)
        {
            await JsonAsync(page);
            return;
        }

        var items = page["items"]?.AsArray() ?? [];
        if (items.Count == 0)
        {
            await output.WriteLineAsync("No requests.");
            return;
        }

        var rows = items.Select(i => i!.AsObject()).Select(r => new[]
        {
            Text(r["id"]), Text(r["status"]), Text(r["requester"]), Access(r), Text(r["accountId"]),
            Human(r["grantedDuration"] ?? r["duration"]), Time(r["expiresAt"]),
        });
        await TableAsync(["ID", "STATUS", "REQUESTER", "ACCESS", "ACCOUNT", "FOR", "EXPIRES"], rows);
        if (page["continuationToken"] is { } next)
        {
            await output.WriteLineAsync($"More: aw list --continuation-token {next}");
        }
    }

    public async Task AuditAsync(JsonObject audit)
    {
        if (json)
        {
            await JsonAsync(audit);
            return;
        }

        var rows = (audit["items"]?.AsArray() ?? []).Select(e => new[]
        {
            Time(e!["at"]), Text(e["type"]), Text(e["actor"]), Text(e["channel"]), Text(e["detail"]),
        });
        await TableAsync(["WHEN", "EVENT", "WHO", "VIA", "DETAIL"], rows);
    }

    private string Summary(JsonObject r)
    {
        var until = r["expiresAt"] is { } expires ? $" until {Time(expires)}" : "";
        return $"{r["id"]}  {r["status"]}  {r["requester"]}  {Access(r)} in {r["accountId"]} for {Human(r["grantedDuration"] ?? r["duration"])}{until}";
    }

    private async Task TableAsync(string[] header, IEnumerable<string[]> rows)
    {
        var all = rows.Prepend(header).ToList();
        var widths = Enumerable.Range(0, header.Length).Select(c => all.Max(row => row[c].Length)).ToArray();
        foreach (var row in all)
        {
            await output.WriteLineAsync(string.Join("  ", row.Select((cell, c) => c == row.Length - 1 ? cell : cell.PadRight(widths[c]))).TrimEnd());
        }
    }

    private Task JsonAsync(JsonObject value) => output.WriteLineAsync(value.ToJsonString(Indented));

    private static string Access(JsonObject r)
    {
        var access = r["access"]!.AsObject();
        return Text(access["type"]) switch
        {
            "group" => $"group {access["groupName"]}",
            "resource" => $"{access["policyArn"]} on {access["resourceArn"]}",
            _ => Text(access["policyArn"]),
        };
    }

    private static string Text(JsonNode? node) => node?.ToString() ?? "";

    private static string Human(JsonNode? iso) =>
        iso is not null && AccessDuration.TryParse(iso.ToString(), out var d) ? AccessDuration.Humanize(d) : Text(iso);

    /// <summary>The reader's local time with date and offset, to the second (grants can be seconds long).</summary>
    private string Time(JsonNode? at) =>
        at is not null && DateTimeOffset.TryParse(at.ToString(), CultureInfo.InvariantCulture, DateTimeStyles.None, out var t)
            ? TimeZoneInfo.ConvertTime(t, timeZone).ToString("yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture)
            : "";
}
