using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace AccessWorkflows.Aws.Policies;

/// <summary>
/// The shipped service → resource type → (ARN pattern, actions that accept it) data (<c>aws-actions.json</c>), from
/// the AWS Service Authorization Reference. A representative subset per service; see the file's <c>about</c>.
/// </summary>
public sealed class AwsActionData
{
    private readonly Dictionary<string, IReadOnlyList<ResourceTypeData>> _services;

    private AwsActionData(Dictionary<string, IReadOnlyList<ResourceTypeData>> services)
    {
        _services = services;
    }

    public static AwsActionData Shipped { get; } = LoadShipped();

    public IReadOnlyCollection<string> Services => _services.Keys;

    public IEnumerable<ResourceTypeData> ResourceTypes => _services.Values.SelectMany(t => t);

    /// <summary>The resource type an ARN is of, or null when the data has none for it.</summary>
    public ResourceTypeData? Match(string resourceArn)
    {
        var parts = resourceArn.Split(':', 6);
        if (parts.Length < 6 || parts[0] != "arn" || !_services.TryGetValue(parts[2], out var types))
        {
            return null;
        }

        return types.FirstOrDefault(t => t.ArnRegex.IsMatch(resourceArn));
    }

    public ResourceTypeData Get(string service, string resourceType) =>
        _services[service].First(t => t.Name == resourceType);

    private static AwsActionData LoadShipped()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("AccessWorkflows.Aws.aws-actions.json")
            ?? throw new InvalidOperationException("The shipped action data is missing from the assembly.");
        using var json = JsonDocument.Parse(stream);
        var services = new Dictionary<string, IReadOnlyList<ResourceTypeData>>(StringComparer.Ordinal);
        foreach (var service in json.RootElement.GetProperty("services").EnumerateObject())
        {
            var types = new List<ResourceTypeData>();
            foreach (var type in service.Value.GetProperty("resourceTypes").EnumerateArray())
            {
                var pathVariables = type.TryGetProperty("pathVariables", out var pv) ? pv.EnumerateArray().Select(v => v.GetString()!).ToHashSet() : [];
                var includes = type.TryGetProperty("includes", out var inc)
                    ? inc.EnumerateArray().Select(i => new IncludedResource(i.GetProperty("resourceType").GetString()!, i.GetProperty("suffix").GetString()!)).ToList()
                    : [];
                var arn = type.GetProperty("arn").GetString()!;
                types.Add(new ResourceTypeData(
                    service.Name,
                    type.GetProperty("name").GetString()!,
                    arn,
                    PatternToRegex(arn, pathVariables),
                    type.GetProperty("actions").EnumerateArray().Select(a => a.GetString()!).Distinct(StringComparer.Ordinal).ToList(),
                    includes));
            }

            services[service.Name] = types;
        }

        return new AwsActionData(services);
    }

    /// <summary>An ARN pattern of the reference (<c>arn:${Partition}:s3:::${BucketName}</c>) as an anchored regex: a
    /// variable matches one path segment unless it is listed as a path variable (object keys, secret names).</summary>
    private static Regex PatternToRegex(string pattern, HashSet<string> pathVariables)
    {
        var regex = Regex.Replace(Regex.Escape(pattern).Replace(@"\$\{", "${", StringComparison.Ordinal), @"\$\{(\w+)}", m => m.Groups[1].Value switch
        {
            "Partition" => "aws(?:-cn|-us-gov)?",
            "Region" => "[a-z0-9-]+",
            "Account" => @"\d{12}",
            var name when pathVariables.Contains(name) => "[^*?]+",
            _ => "[^:/*?]+",
        });
        return new Regex("^" + regex + "$", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
    }
}

/// <param name="Includes">Other resource types a grant on this one also covers, at this ARN plus a suffix (an S3
/// bucket grant covers its objects at <c>bucket/*</c>).</param>
public sealed record ResourceTypeData(string Service, string Name, string ArnPattern, Regex ArnRegex, IReadOnlyList<string> Actions, IReadOnlyList<IncludedResource> Includes);

public sealed record IncludedResource(string ResourceType, string Suffix);
