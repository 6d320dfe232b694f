using System.Text.Json;
using System.Text.Json.Nodes;
using AccessWorkflows.Aws.Credentials;
using AccessWorkflows.Aws.Iam;
using AccessWorkflows.Aws.IdentityCenter;
using AccessWorkflows.Aws.Json;
using AccessWorkflows.Grants.Activity;
using AccessWorkflows.Requests;
using AccessWorkflows.Rules;
using Amazon;
using Microsoft.Extensions.Logging;
using Polly;

namespace AccessWorkflows.Aws.Activity;

/// <summary>
/// The grantee's CloudTrail management events in the account (SPEC 13): <c>cloudtrail LookupEvents</c> (JSON 1.1,
/// target <c>com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents</c>, signed for <c>cloudtrail</c>)
/// with the <c>Username</c> lookup attribute, the grant's window as StartTime/EndTime, every NextToken page, in each
/// of <see cref="AwsOptions.ActivityRegions"/>, with the account's provisioner role. The user name is the IAM user's,
/// or for permission sets the Identity Center user name (the session name CloudTrail records for the user's role
/// sessions). LookupEvents allows two calls a second per account and region: ThrottlingException is retried with
/// backoff inside the client, and the workflow's activity retry takes over beyond that.
/// </summary>
public sealed class CloudTrailActivitySource : IActivitySource
{
    public const string HttpClientName = "AccessWorkflows.Aws.CloudTrail";
    public const string TargetPrefix = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101";

    /// <summary>LookupEvents answers at most 50 events a page.</summary>
    private const int PageSize = 50;

    private readonly IHttpClientFactory _httpClients;
    private readonly IAwsCredentialProvider _credentials;
    private readonly AwsEndpoints _endpoints;
    private readonly AwsOptions _options;
    private readonly PermissionSetAssignments _permissionSets;
    private readonly ResiliencePipeline _retry;

    public CloudTrailActivitySource(IHttpClientFactory httpClients, IAwsCredentialProvider credentials, AwsEndpoints endpoints, AwsOptions options, PermissionSetAssignments permissionSets, ILogger<CloudTrailActivitySource> logger)
    {
        _httpClients = httpClients;
        _credentials = credentials;
        _endpoints = endpoints;
        _options = options;
        _permissionSets = permissionSets;
        _retry = IamClientFactory.BuildRetryPipeline(options.Retry, logger);
    }

    public async Task<IReadOnlyList<ActivityEvent>> LookupAsync(AccountConfig account, string principal, AccessKind kind, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default)
    {
        var userName = kind == AccessKind.PermissionSet ? await _permissionSets.UserNameAsync(principal, cancellationToken) : principal;
        var events = new List<ActivityEvent>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var region in _options.ActivityRegionsOrDefault)
        {
            var client = new AwsJsonClient(
                _httpClients.CreateClient(HttpClientName),
                _endpoints.Configured("CLOUDTRAIL") ?? new Uri($"https://cloudtrail.{region}.{(AwsPartition.ForRegion(region) == AwsPartition.China ? "amazonaws.com.cn" : "amazonaws.com")}/"),
                RegionEndpoint.GetBySystemName(region),
                "cloudtrail",
                TargetPrefix,
                ct => _credentials.GetCredentialsAsync(account, ct),
                _retry);
            string? next = null;
            do
            {
                var input = new JsonObject
                {
                    ["LookupAttributes"] = new JsonArray(new JsonObject { ["AttributeKey"] = "Username", ["AttributeValue"] = userName }),
                    ["StartTime"] = from.ToUnixTimeMilliseconds() / 1000.0,
                    ["EndTime"] = to.ToUnixTimeMilliseconds() / 1000.0,
                    ["MaxResults"] = PageSize,
                };
                if (next is not null)
                {
                    input["NextToken"] = next;
                }

                var answer = await client.CallAsync("LookupEvents", input, cancellationToken);
                foreach (var item in answer["Events"]?.AsArray().OfType<JsonObject>() ?? [])
                {
                    // IAM and other global services record in us-east-1 only; an event read in two regions counts once.
                    if (item["EventId"]?.GetValue<string>() is { } id && !seen.Add(id))
                    {
                        continue;
                    }

                    events.Add(new ActivityEvent(
                        item["EventSource"]?.GetValue<string>() ?? "unknown",
                        item["EventName"]?.GetValue<string>() ?? "unknown",
                        DateTimeOffset.FromUnixTimeMilliseconds((long)((item["EventTime"]?.GetValue<double>() ?? 0) * 1000)),
                        ErrorCodeOf(item["CloudTrailEvent"]?.GetValue<string>())));
                }

                next = answer["NextToken"]?.GetValue<string>() is { Length: > 0 } token ? token : null;
            }
            while (next is not null);
        }

        return events;
    }

    /// <summary>The <c>errorCode</c> of the full event record (a JSON string inside the answer); null when it has none
    /// or it cannot be read.</summary>
    private static string? ErrorCodeOf(string? record)
    {
        if (record is null)
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(record)?["errorCode"]?.GetValue<string>();
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
