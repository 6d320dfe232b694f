using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AccessWorkflows.Grants;
using AccessWorkflows.Requests;

namespace AccessWorkflows.Aws.Policies;

/// <summary>
/// Builds the policy of a <c>resource</c> request (SPEC 4, 9): the base policy's allowed actions that apply to the
/// resource's type, with Resource set to that resource. Deliberately narrower than the base policy where it cannot be
/// sure: only <c>Allow</c> statements with <c>Action</c> and <c>Resource</c> count; statements with <c>NotAction</c>,
/// <c>NotResource</c> or a <c>Condition</c> are left out (a dropped condition would widen them), and a statement counts
/// only for the resources its own Resource patterns cover. The document holds our constants, action names from the
/// shipped data and the validated resource ARN: no text from the request or the base policy is copied into it. With an
/// expiry, every statement carries <c>DateLessThan aws:CurrentTime</c>, so AWS itself stops allowing after it even
/// if revocation is late.
/// </summary>
public sealed class ResourcePolicyGenerator
{
    private readonly AwsActionData _data;

    public ResourcePolicyGenerator(AwsActionData data)
    {
        _data = data;
    }

    /// <param name="notAfter">The instant after which the policy allows nothing; null: no time limit.</param>
    public GeneratedPolicy Generate(string basePolicyDocument, string resourceArn, string basePolicyArn, DateTimeOffset? notAfter = null)
    {
        if (!Grammar.IsResourceArn(resourceArn))
        {
            throw new PermanentProvisioningException("The resource ARN is not the ARN of one resource.");
        }

        var type = _data.Match(resourceArn) ?? throw new PermanentProvisioningException(
            $"AccessWorkflows has no action data for the type of {resourceArn}; supported: {string.Join(", ", _data.ResourceTypes.Select(t => $"{t.Service} {t.Name}"))}.");

        var targets = new List<(ResourceTypeData Type, string Arn)> { (type, resourceArn) };
        targets.AddRange(type.Includes.Select(i => (_data.Get(type.Service, i.ResourceType), resourceArn + i.Suffix)));

        var statements = ReadAllowStatements(basePolicyDocument, basePolicyArn);
        var result = new List<GeneratedStatement>();
        foreach (var (targetType, targetArn) in targets)
        {
            var actions = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var statement in statements.Where(s => s.Resources.Any(r => Glob(r, ignoreCase: false).IsMatch(targetArn))))
            {
                foreach (var pattern in statement.Actions)
                {
                    foreach (var action in Expand(pattern, targetType))
                    {
                        actions.Add(action);
                    }
                }
            }

            if (actions.Count > 0)
            {
                result.Add(new GeneratedStatement(targetArn, [.. actions]));
            }
        }

        if (result.Count == 0)
        {
            throw new PermanentProvisioningException(
                $"{basePolicyArn} allows no action that applies to a {type.Service} {type.Name}, so there is nothing to grant on {resourceArn}.");
        }

        return new GeneratedPolicy(Render(result, notAfter), result);
    }

    /// <summary>The canonical names (<c>service:Action</c>) of the data's actions a policy action pattern covers.</summary>
    private static IEnumerable<string> Expand(string pattern, ResourceTypeData type)
    {
        string actionPattern;
        if (pattern == "*")
        {
            actionPattern = "*";
        }
        else
        {
            var colon = pattern.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || !string.Equals(pattern[..colon], type.Service, StringComparison.OrdinalIgnoreCase))
            {
                yield break;
            }

            actionPattern = pattern[(colon + 1)..];
        }

        // Action names are case-insensitive in IAM.
        var regex = Glob(actionPattern, ignoreCase: true);
        foreach (var action in type.Actions.Where(a => regex.IsMatch(a)))
        {
            yield return $"{type.Service}:{action}";
        }
    }

    private static List<AllowStatement> ReadAllowStatements(string document, string basePolicyArn)
    {
        JsonDocument json;
        try
        {
            json = JsonDocument.Parse(document, new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException ex)
        {
            throw new PermanentProvisioningException($"The default version of {basePolicyArn} is not a JSON policy document.", ex);
        }

        using (json)
        {
            if (json.RootElement.ValueKind != JsonValueKind.Object || !json.RootElement.TryGetProperty("Statement", out var statementElement))
            {
                throw new PermanentProvisioningException($"The default version of {basePolicyArn} has no Statement.");
            }

            var statements = statementElement.ValueKind == JsonValueKind.Array ? statementElement.EnumerateArray().ToList() : [statementElement];
            var allows = new List<AllowStatement>();
            foreach (var statement in statements.Where(s => s.ValueKind == JsonValueKind.Object))
            {
                if (!statement.TryGetProperty("Effect", out var effect) || effect.ValueKind != JsonValueKind.String || effect.GetString() != "Allow"
                    || statement.TryGetProperty("NotAction", out _) || statement.TryGetProperty("NotResource", out _) || statement.TryGetProperty("Condition", out _)
                    || !statement.TryGetProperty("Action", out var action) || !statement.TryGetProperty("Resource", out var resource))
                {
                    continue;
                }

                allows.Add(new AllowStatement(Strings(action), Strings(resource)));
            }

            return allows;
        }
    }

    private static List<string> Strings(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => [element.GetString()!],
        JsonValueKind.Array => element.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToList(),
        _ => [],
    };

    private static Regex Glob(string pattern, bool ignoreCase) =>
        new(
            "^" + Regex.Escape(pattern).Replace(@"\*", ".*", StringComparison.Ordinal).Replace(@"\?", ".", StringComparison.Ordinal) + "$",
            (ignoreCase ? RegexOptions.IgnoreCase : RegexOptions.None) | RegexOptions.CultureInvariant | RegexOptions.Singleline,
            TimeSpan.FromSeconds(1));

    /// <summary>The form IAM's date condition operators take (ISO 8601, UTC, seconds).</summary>
    public static string FormatTime(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private static string Render(List<GeneratedStatement> statements, DateTimeOffset? notAfter)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("Version", "2012-10-17");
            writer.WriteStartArray("Statement");
            for (var i = 0; i < statements.Count; i++)
            {
                writer.WriteStartObject();
                writer.WriteString("Sid", $"AccessWorkflows{i}");
                writer.WriteString("Effect", "Allow");
                writer.WriteStartArray("Action");
                foreach (var action in statements[i].Actions)
                {
                    writer.WriteStringValue(action);
                }

                writer.WriteEndArray();
                writer.WriteString("Resource", statements[i].Resource);
                if (notAfter is { } end)
                {
                    writer.WriteStartObject("Condition");
                    writer.WriteStartObject("DateLessThan");
                    writer.WriteString("aws:CurrentTime", FormatTime(end));
                    writer.WriteEndObject();
                    writer.WriteEndObject();
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private sealed record AllowStatement(IReadOnlyList<string> Actions, IReadOnlyList<string> Resources);
}

/// <param name="Document">The policy JSON to create.</param>
public sealed record GeneratedPolicy(string Document, IReadOnlyList<GeneratedStatement> Statements);

public sealed record GeneratedStatement(string Resource, IReadOnlyList<string> Actions);
