using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace AccessWorkflows.Aws.Tests.Fakes;

/// <summary>One call as IAM authorizes it: the action, the resource ARN and the request context keys.</summary>
public sealed record IamCall(string Action, string Resource, IReadOnlyDictionary<string, string[]>? Context = null)
{
    public IamCall With(string key, params string[] values)
    {
        var context = new Dictionary<string, string[]>(Context ?? new Dictionary<string, string[]>(), StringComparer.OrdinalIgnoreCase) { [key] = values };
        return this with { Context = context };
    }
}

public enum IamDecision
{
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

/// <summary>
/// A small evaluator of identity-based IAM policies, written from the documented evaluation logic, for the parts the
/// generated policies use: Effect Allow/Deny (an explicit deny wins, then an allow, else the implicit deny);
/// Action/NotAction (case-insensitive, <c>*</c> and <c>?</c>); Resource/NotResource (ARN components matched one by
/// one, wildcards never crossing a colon); Condition with the operators StringEquals, StringNotEquals, StringLike,
/// StringNotLike, ArnEquals, ArnLike, ArnNotLike, DateLessThan, DateGreaterThan, Null and the ForAllValues: /
/// ForAnyValue: set prefixes (operators AND, keys AND, values OR; a missing key fails a positive operator, satisfies
/// a negated one, satisfies ForAllValues and fails ForAnyValue). A permissions boundary must allow too.
/// </summary>
public static class IamPolicyEvaluator
{
    public static IamDecision Evaluate(string policy, IamCall call, string? boundary = null)
    {
        var decision = EvaluateOne(policy, call);
        if (decision != IamDecision.Allow || boundary is null)
        {
            return decision;
        }

        return EvaluateOne(boundary, call) switch
        {
            IamDecision.Allow => IamDecision.Allow,
            var refused => refused,
        };
    }

    private static IamDecision EvaluateOne(string policy, IamCall call)
    {
        using var json = JsonDocument.Parse(policy);
        var statements = json.RootElement.GetProperty("Statement");
        var allowed = false;
        foreach (var statement in statements.ValueKind == JsonValueKind.Array ? statements.EnumerateArray().ToList() : [statements])
        {
            if (!Applies(statement, call))
            {
                continue;
            }

            if (statement.GetProperty("Effect").GetString() == "Deny")
            {
                return IamDecision.ExplicitDeny;
            }

            allowed = true;
        }

        return allowed ? IamDecision.Allow : IamDecision.ImplicitDeny;
    }

    private static bool Applies(JsonElement statement, IamCall call)
    {
        var actionMatches = statement.TryGetProperty("Action", out var action)
            ? Strings(action).Any(a => Glob(a, call.Action, ignoreCase: true))
            : !Strings(statement.GetProperty("NotAction")).Any(a => Glob(a, call.Action, ignoreCase: true));
        if (!actionMatches)
        {
            return false;
        }

        var resourceMatches = statement.TryGetProperty("Resource", out var resource)
            ? Strings(resource).Any(r => ArnMatches(r, call.Resource))
            : !Strings(statement.GetProperty("NotResource")).Any(r => ArnMatches(r, call.Resource));
        if (!resourceMatches)
        {
            return false;
        }

        if (!statement.TryGetProperty("Condition", out var condition))
        {
            return true;
        }

        foreach (var op in condition.EnumerateObject())
        {
            foreach (var key in op.Value.EnumerateObject())
            {
                var present = call.Context is not null && call.Context.TryGetValue(key.Name, out var found) ? found : null;
                if (!ConditionHolds(op.Name, present, Strings(key.Value)))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static bool ConditionHolds(string op, string[]? present, List<string> expected)
    {
        var set = op.StartsWith("ForAllValues:", StringComparison.Ordinal) ? "all" : op.StartsWith("ForAnyValue:", StringComparison.Ordinal) ? "any" : null;
        var name = set is null ? op : op[(op.IndexOf(':', StringComparison.Ordinal) + 1)..];
        if (name == "Null")
        {
            var isNull = present is null || present.Length == 0;
            return expected.Any(e => bool.Parse(e) == isNull);
        }

        var negated = name.Contains("Not", StringComparison.Ordinal);
        if (present is null || present.Length == 0)
        {
            return set == "all" || (set is null && negated);
        }

        Func<string, string, bool> match = name.Replace("Not", string.Empty, StringComparison.Ordinal) switch
        {
            "StringEquals" => (value, pattern) => value == pattern,
            "StringLike" => (value, pattern) => Glob(pattern, value, ignoreCase: false),
            "ArnEquals" or "ArnLike" => (value, pattern) => ArnMatches(pattern, value),
            "DateLessThan" => (value, pattern) => Date(value) < Date(pattern),
            "DateGreaterThan" => (value, pattern) => Date(value) > Date(pattern),
            _ => throw new NotSupportedException($"The evaluator does not know the condition operator {op}."),
        };
        bool One(string value) => negated ? !expected.Any(e => match(value, e)) : expected.Any(e => match(value, e));
        return set == "all" ? present.All(One) : present.Any(One);
    }

    private static DateTimeOffset Date(string value) => DateTimeOffset.Parse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    /// <summary>ARN matching as IAM does it: the six colon-separated components are compared one by one, so a
    /// wildcard never spans a colon; <c>*</c> alone matches everything.</summary>
    private static bool ArnMatches(string pattern, string arn)
    {
        if (pattern == "*")
        {
            return true;
        }

        var p = pattern.Split(':', 6);
        var a = arn.Split(':', 6);
        return p.Length == 6 && a.Length == 6 && p.Zip(a).All(pair => Glob(pair.First, pair.Second, ignoreCase: false));
    }

    private static bool Glob(string pattern, string text, bool ignoreCase) =>
        Regex.IsMatch(
            text,
            "^" + Regex.Escape(pattern).Replace(@"\*", ".*", StringComparison.Ordinal).Replace(@"\?", ".", StringComparison.Ordinal) + "$",
            (ignoreCase ? RegexOptions.IgnoreCase : RegexOptions.None) | RegexOptions.Singleline | RegexOptions.CultureInvariant);

    private static List<string> Strings(JsonElement element) => element.ValueKind == JsonValueKind.Array
        ? [.. element.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText())]
        : [element.ValueKind == JsonValueKind.String ? element.GetString()! : element.GetRawText()];
}
