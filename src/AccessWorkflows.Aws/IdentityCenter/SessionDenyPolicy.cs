using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AccessWorkflows.Aws.IdentityCenter;

/// <summary>
/// The statements AccessWorkflows writes into a permission set's inline policy to end the role sessions Identity
/// Center issued before a grant ended — AWS's documented remedy for active permission-set sessions: an explicit deny
/// keyed on the user's <c>identitystore:UserId</c>, here narrowed to sessions issued before the grant ended
/// (<c>aws:TokenIssueTime</c>) and to the one account (<c>aws:PrincipalAccount</c>), so a new grant's sessions, other
/// users and other accounts are untouched. Each statement lapses by itself (<c>aws:CurrentTime</c>) once every session
/// it targets has expired, and is then removed by the next write or sweep.
/// </summary>
/// <remarks>
/// Only statements whose <c>Sid</c> starts with <see cref="SidPrefix"/> are ever changed or removed: the rest of the
/// document belongs to whoever wrote the permission set, and is kept exactly (statement order included).
/// </remarks>
public static class SessionDenyPolicy
{
    public const string SidPrefix = "AccessWorkflowsEndSessions";

    /// <summary>IAM's limit on a role's inline policies (10,240 characters without white space): the provisioned role
    /// must hold the document, which is stricter than the permission set's own 32,768.</summary>
    public const int MaxLength = 10_240;

    private const string IssueTimeKey = "aws:TokenIssueTime";
    private const string CurrentTimeKey = "aws:CurrentTime";

    /// <summary>The statement id of the deny for one user in one account (a hash: Sids are alphanumeric).</summary>
    public static string Sid(string accountId, string userId)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(accountId + "\n" + userId));
        return SidPrefix + Convert.ToHexString(hash)[..24];
    }

    /// <summary>The document with the deny for sessions of <paramref name="userId"/> in <paramref name="accountId"/>
    /// issued before <paramref name="cutoff"/>, lapsing at <paramref name="lapsesAt"/>. An existing deny for the same
    /// user and account keeps the later of both instants; lapsed statements of ours are dropped.</summary>
    public static string WithDeny(string policy, string accountId, string userId, DateTimeOffset cutoff, DateTimeOffset lapsesAt, DateTimeOffset now)
    {
        var (document, statements) = Parse(policy);
        var sid = Sid(accountId, userId);
        var index = statements.FindIndex(s => SidOf(s) == sid);
        if (index >= 0 && Instant(statements[index], IssueTimeKey) is { } earlierCutoff && Instant(statements[index], CurrentTimeKey) is { } earlierLapse)
        {
            cutoff = Max(cutoff, earlierCutoff);
            lapsesAt = Max(lapsesAt, earlierLapse);
        }

        var deny = new JsonObject
        {
            ["Sid"] = sid,
            ["Effect"] = "Deny",
            ["Action"] = "*",
            ["Resource"] = "*",
            ["Condition"] = new JsonObject
            {
                ["StringEquals"] = new JsonObject { ["identitystore:UserId"] = userId, ["aws:PrincipalAccount"] = accountId },
                ["DateLessThan"] = new JsonObject { [IssueTimeKey] = Format(cutoff), [CurrentTimeKey] = Format(lapsesAt) },
            },
        };
        if (index >= 0)
        {
            statements[index] = deny;
        }
        else
        {
            statements.Add(deny);
        }

        statements.RemoveAll(s => s != deny && Lapsed(s, now));
        return Write(document, statements);
    }

    /// <summary>The document without our statements for <paramref name="accountId"/> that have lapsed; empty when
    /// nothing at all remains (the inline policy is then deleted). Returns null when nothing lapsed.</summary>
    public static string? WithoutLapsed(string policy, string accountId, DateTimeOffset now)
    {
        var (document, statements) = Parse(policy);
        var removed = statements.RemoveAll(s => Lapsed(s, now) && s["Condition"]?["StringEquals"]?["aws:PrincipalAccount"]?.GetValue<string>() == accountId);
        return removed == 0 ? null : statements.Count == 0 ? string.Empty : Write(document, statements);
    }

    /// <summary>Whether the document denies every session of the user in the account issued before
    /// <paramref name="cutoff"/> (a concurrent writer may have replaced it without our statement).</summary>
    public static bool Denies(string policy, string accountId, string userId, DateTimeOffset cutoff)
    {
        var statement = Parse(policy).Statements.Find(s => SidOf(s) == Sid(accountId, userId));
        return statement is not null && Instant(statement, IssueTimeKey) is { } written && written >= Truncate(cutoff);
    }

    /// <summary>Sessions are stamped to the second: the cutoff is the next whole second, so a session issued during the
    /// second the grant ended is denied too.</summary>
    public static DateTimeOffset CutoffAfter(DateTimeOffset instant)
    {
        var truncated = Truncate(instant);
        return truncated == instant ? truncated : truncated.AddSeconds(1);
    }

    private static (JsonObject Document, List<JsonNode> Statements) Parse(string policy)
    {
        if (string.IsNullOrWhiteSpace(policy))
        {
            return (new JsonObject { ["Version"] = "2012-10-17" }, []);
        }

        JsonObject document;
        try
        {
            document = JsonNode.Parse(policy) as JsonObject ?? throw new JsonException("not an object");
        }
        catch (JsonException ex)
        {
            throw new FormatException("The permission set's inline policy is not a JSON policy document.", ex);
        }

        var statements = document["Statement"] switch
        {
            JsonArray array => array.Select(s => s!.DeepClone()).ToList(),
            JsonObject single => [single.DeepClone()],
            _ => new List<JsonNode>(),
        };
        document.Remove("Statement");
        return (document, statements);
    }

    private static string Write(JsonObject document, List<JsonNode> statements)
    {
        document["Statement"] = new JsonArray([.. statements]);
        return document.ToJsonString();
    }

    private static string? SidOf(JsonNode statement) => (statement as JsonObject)?["Sid"] is JsonValue value && value.TryGetValue<string>(out var sid) ? sid : null;

    private static bool Lapsed(JsonNode statement, DateTimeOffset now) =>
        SidOf(statement) is { } sid && sid.StartsWith(SidPrefix, StringComparison.Ordinal) && Instant(statement, CurrentTimeKey) is { } lapses && lapses <= now;

    private static DateTimeOffset? Instant(JsonNode statement, string key) =>
        statement["Condition"]?["DateLessThan"]?[key] is JsonValue value && value.TryGetValue<string>(out var text)
            && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var instant)
            ? instant
            : null;

    /// <summary>An instant as IAM's date conditions write it (UTC, to the second).</summary>
    public static string Format(DateTimeOffset instant) => instant.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static DateTimeOffset Truncate(DateTimeOffset instant) => new(instant.UtcTicks - (instant.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
