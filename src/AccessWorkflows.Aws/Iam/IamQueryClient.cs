using System.Globalization;
using System.Net;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using Amazon;
using Amazon.Runtime;
using Polly;

namespace AccessWorkflows.Aws.Iam;

/// <summary>
/// IAM's Query API over HTTP: form-encoded POSTs (<c>Action=...&amp;Version=2010-05-08</c>) signed with SigV4 by
/// AWSSDK.Core's signer, XML answers in IAM's 2010-05-08 namespace. The narrow stand-in for AWSSDK.IdentityManagement,
/// which the build machines' registry lacks.
/// </summary>
public sealed class IamQueryClient : IIamClient
{
    public const string ApiVersion = "2010-05-08";
    public const string SigningService = "iam";

    /// <summary>A cap on what we read of one answer: IAM pages are small, anything bigger is not IAM.</summary>
    private const int MaxResponseBytes = 8 * 1024 * 1024;

    private static readonly XNamespace Ns = "https://iam.amazonaws.com/doc/2010-05-08/";

    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private readonly RegionEndpoint _signingRegion;
    private readonly Func<CancellationToken, Task<ImmutableCredentials>> _credentials;
    private readonly ResiliencePipeline _retry;

    public IamQueryClient(
        HttpClient http,
        Uri endpoint,
        RegionEndpoint signingRegion,
        Func<CancellationToken, Task<ImmutableCredentials>> credentials,
        ResiliencePipeline retry)
    {
        _http = http;
        _endpoint = endpoint;
        _signingRegion = signingRegion;
        _credentials = credentials;
        _retry = retry;
    }

    public async Task<IamUser> GetUserAsync(string userName, CancellationToken cancellationToken = default)
    {
        var result = await CallAsync("GetUser", [new("UserName", userName)], cancellationToken);
        return ParseUser(Required(result, "User"));
    }

    public async Task<IamPage<IamUser>> ListUsersAsync(string? marker = null, string? pathPrefix = null, CancellationToken cancellationToken = default)
    {
        List<KeyValuePair<string, string>> parameters = pathPrefix is null ? [] : [new("PathPrefix", pathPrefix)];
        var result = await CallAsync("ListUsers", [.. parameters, .. Paging(marker)], cancellationToken);
        return Page(result, "Users", ParseUser);
    }

    public async Task<IamPage<IamTag>> ListUserTagsAsync(string userName, string? marker = null, CancellationToken cancellationToken = default)
    {
        var result = await CallAsync("ListUserTags", [new("UserName", userName), .. Paging(marker)], cancellationToken);
        return Page(result, "Tags", ParseTag);
    }

    public async Task<IamPage<AttachedPolicy>> ListAttachedUserPoliciesAsync(string userName, string? marker = null, CancellationToken cancellationToken = default)
    {
        var result = await CallAsync("ListAttachedUserPolicies", [new("UserName", userName), .. Paging(marker)], cancellationToken);
        return Page(result, "AttachedPolicies", m => new AttachedPolicy(Text(m, "PolicyName"), Text(m, "PolicyArn")));
    }

    public async Task<IamPage<IamGroup>> ListGroupsForUserAsync(string userName, string? marker = null, CancellationToken cancellationToken = default)
    {
        var result = await CallAsync("ListGroupsForUser", [new("UserName", userName), .. Paging(marker)], cancellationToken);
        return Page(result, "Groups", ParseGroup);
    }

    public Task AttachUserPolicyAsync(string userName, string policyArn, CancellationToken cancellationToken = default) =>
        CallAsync("AttachUserPolicy", [new("PolicyArn", policyArn), new("UserName", userName)], cancellationToken);

    public Task DetachUserPolicyAsync(string userName, string policyArn, CancellationToken cancellationToken = default) =>
        CallAsync("DetachUserPolicy", [new("PolicyArn", policyArn), new("UserName", userName)], cancellationToken);

    public Task AddUserToGroupAsync(string groupName, string userName, CancellationToken cancellationToken = default) =>
        CallAsync("AddUserToGroup", [new("GroupName", groupName), new("UserName", userName)], cancellationToken);

    public Task RemoveUserFromGroupAsync(string groupName, string userName, CancellationToken cancellationToken = default) =>
        CallAsync("RemoveUserFromGroup", [new("GroupName", groupName), new("UserName", userName)], cancellationToken);

    public async Task<ManagedPolicy> GetPolicyAsync(string policyArn, CancellationToken cancellationToken = default)
    {
        var result = await CallAsync("GetPolicy", [new("PolicyArn", policyArn)], cancellationToken);
        return ParsePolicy(Required(result, "Policy"));
    }

    public async Task<PolicyVersion> GetPolicyVersionAsync(string policyArn, string versionId, CancellationToken cancellationToken = default)
    {
        var result = await CallAsync("GetPolicyVersion", [new("PolicyArn", policyArn), new("VersionId", versionId)], cancellationToken);
        var version = ParseVersion(Required(result, "PolicyVersion"));
        if (version.Document is null)
        {
            throw new IamException(IamErrorCodes.ServiceFailure, "GetPolicyVersion answered without a Document.", HttpStatusCode.BadGateway);
        }

        return version;
    }

    public async Task<IamPage<ManagedPolicy>> ListPoliciesAsync(string scope = "All", string? pathPrefix = null, string? marker = null, CancellationToken cancellationToken = default)
    {
        List<KeyValuePair<string, string>> parameters = [new("Scope", scope)];
        if (pathPrefix is not null)
        {
            parameters.Add(new("PathPrefix", pathPrefix));
        }

        var result = await CallAsync("ListPolicies", [.. parameters, .. Paging(marker)], cancellationToken);
        return Page(result, "Policies", ParsePolicy);
    }

    public async Task<IamPage<IamGroup>> ListGroupsAsync(string? marker = null, CancellationToken cancellationToken = default)
    {
        var result = await CallAsync("ListGroups", Paging(marker), cancellationToken);
        return Page(result, "Groups", ParseGroup);
    }

    public async Task<ManagedPolicy> CreatePolicyAsync(string policyName, string path, string policyDocument, string? description, IReadOnlyList<IamTag> tags, CancellationToken cancellationToken = default)
    {
        List<KeyValuePair<string, string>> parameters =
        [
            new("PolicyName", policyName),
            new("Path", path),
            new("PolicyDocument", policyDocument),
        ];
        if (description is not null)
        {
            parameters.Add(new("Description", description));
        }

        for (var i = 0; i < tags.Count; i++)
        {
            var n = (i + 1).ToString(CultureInfo.InvariantCulture);
            parameters.Add(new($"Tags.member.{n}.Key", tags[i].Key));
            parameters.Add(new($"Tags.member.{n}.Value", tags[i].Value));
        }

        var result = await CallAsync("CreatePolicy", parameters, cancellationToken);
        return ParsePolicy(Required(result, "Policy"));
    }

    public async Task<PolicyVersion> CreatePolicyVersionAsync(string policyArn, string policyDocument, bool setAsDefault, CancellationToken cancellationToken = default)
    {
        var result = await CallAsync(
            "CreatePolicyVersion",
            [new("PolicyArn", policyArn), new("PolicyDocument", policyDocument), new("SetAsDefault", setAsDefault ? "true" : "false")],
            cancellationToken);
        return ParseVersion(Required(result, "PolicyVersion"));
    }

    public async Task<IReadOnlyList<PolicyVersion>> ListPolicyVersionsAsync(string policyArn, CancellationToken cancellationToken = default)
    {
        return await IamClientExtensions.ListAllAsync(async marker =>
        {
            var result = await CallAsync("ListPolicyVersions", [new("PolicyArn", policyArn), .. Paging(marker)], cancellationToken);
            return Page(result, "Versions", ParseVersion);
        });
    }

    public Task DeletePolicyVersionAsync(string policyArn, string versionId, CancellationToken cancellationToken = default) =>
        CallAsync("DeletePolicyVersion", [new("PolicyArn", policyArn), new("VersionId", versionId)], cancellationToken);

    public Task DeletePolicyAsync(string policyArn, CancellationToken cancellationToken = default) =>
        CallAsync("DeletePolicy", [new("PolicyArn", policyArn)], cancellationToken);

    public async Task<IamPage<string>> ListUsersForPolicyAsync(string policyArn, string? marker = null, CancellationToken cancellationToken = default)
    {
        var result = await CallAsync("ListEntitiesForPolicy", [new("PolicyArn", policyArn), new("EntityFilter", "User"), .. Paging(marker)], cancellationToken);
        return Page(result, "PolicyUsers", m => Text(m, "UserName"));
    }

    private static List<KeyValuePair<string, string>> Paging(string? marker) => marker is null ? [] : [new("Marker", marker)];

    /// <summary>Sends one action (with retries of transient failures) and returns its <c>&lt;ActionResult&gt;</c> element
    /// (an empty element for actions that answer only with metadata).</summary>
    private async Task<XElement> CallAsync(string action, IReadOnlyList<KeyValuePair<string, string>> parameters, CancellationToken cancellationToken)
    {
        var body = FormEncode(action, parameters);
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(ActionKey, action);
        try
        {
            return await _retry.ExecuteAsync(static async (ctx, state) => await state.Client.SendOnceAsync(state.Action, state.Body, ctx.CancellationToken), context, (Client: this, Action: action, Body: body));
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private async Task<XElement> SendOnceAsync(string action, byte[] body, CancellationToken cancellationToken)
    {
        var credentials = await _credentials(cancellationToken);
        var signed = await AwsSigning.SignPostAsync(
            _endpoint,
            body,
            [new("Content-Type", FormContentType)],
            credentials,
            _signingRegion,
            SigningService,
            cancellationToken);

        using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint) { Content = new ByteArrayContent(body) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", FormContentType);
        foreach (var header in signed)
        {
            request.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var text = await AwsResponses.ReadCappedAsync(response, MaxResponseBytes, cancellationToken);
        XDocument document;
        try
        {
            document = XDocument.Parse(text);
        }
        catch (XmlException ex)
        {
            // A proxy's HTML error page or a truncated answer: transient when the status says the server failed.
            throw new IamException(
                (int)response.StatusCode >= 500 ? IamErrorCodes.ServiceFailure : "InvalidResponse",
                $"{action} answered HTTP {(int)response.StatusCode} with a body that is not XML.",
                response.StatusCode,
                inner: ex);
        }

        var root = document.Root!;
        if (!response.IsSuccessStatusCode || root.Name.LocalName == "ErrorResponse")
        {
            var error = root.Descendants().FirstOrDefault(e => e.Name.LocalName == "Error");
            var code = error?.Elements().FirstOrDefault(e => e.Name.LocalName == "Code")?.Value ?? $"Http{(int)response.StatusCode}";
            var message = error?.Elements().FirstOrDefault(e => e.Name.LocalName == "Message")?.Value ?? string.Empty;
            var requestId = root.Descendants().FirstOrDefault(e => e.Name.LocalName == "RequestId")?.Value;
            var status = response.IsSuccessStatusCode ? HttpStatusCode.BadRequest : response.StatusCode;
            throw new IamException(code, message, status, requestId);
        }

        return root.Element(Ns + (action + "Result")) ?? new XElement(Ns + (action + "Result"));
    }

    private const string FormContentType = "application/x-www-form-urlencoded; charset=utf-8";

    internal static byte[] FormEncode(string action, IReadOnlyList<KeyValuePair<string, string>> parameters)
    {
        var builder = new StringBuilder();
        builder.Append("Action=").Append(Uri.EscapeDataString(action));
        builder.Append("&Version=").Append(ApiVersion);
        foreach (var (key, value) in parameters)
        {
            builder.Append('&').Append(Uri.EscapeDataString(key)).Append('=').Append(Uri.EscapeDataString(value));
        }

        return Encoding.UTF8.GetBytes(builder.ToString());
    }

    private static XElement Required(XElement result, string name) =>
        result.Element(Ns + name) ?? throw new IamException("InvalidResponse", $"The answer has no <{name}>.", HttpStatusCode.BadGateway);

    private static string Text(XElement element, string name) => element.Element(Ns + name)?.Value ?? string.Empty;

    private static IamPage<T> Page<T>(XElement result, string listName, Func<XElement, T> parse)
    {
        var items = result.Element(Ns + listName)?.Elements(Ns + "member").Select(parse).ToList() ?? [];
        var truncated = string.Equals(Text(result, "IsTruncated"), "true", StringComparison.OrdinalIgnoreCase);
        var marker = result.Element(Ns + "Marker")?.Value;
        return new IamPage<T>(items, truncated && marker is not null, marker);
    }

    private static IamUser ParseUser(XElement e) => new(Text(e, "UserName"), Text(e, "UserId"), Text(e, "Arn"), Text(e, "Path"));

    private static IamTag ParseTag(XElement e) => new(Text(e, "Key"), Text(e, "Value"));

    private static IamGroup ParseGroup(XElement e) => new(Text(e, "GroupName"), Text(e, "GroupId"), Text(e, "Arn"), Text(e, "Path"));

    private static ManagedPolicy ParsePolicy(XElement e) => new(
        Text(e, "PolicyName"),
        Text(e, "Arn"),
        Text(e, "Path"),
        e.Element(Ns + "DefaultVersionId")?.Value,
        int.TryParse(Text(e, "AttachmentCount"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var count) ? count : 0,
        e.Element(Ns + "Tags")?.Elements(Ns + "member").Select(ParseTag).ToList() ?? []);

    private static PolicyVersion ParseVersion(XElement e)
    {
        var document = e.Element(Ns + "Document")?.Value;
        return new PolicyVersion(
            Text(e, "VersionId"),
            string.Equals(Text(e, "IsDefaultVersion"), "true", StringComparison.OrdinalIgnoreCase),
            document is null ? null : Uri.UnescapeDataString(document));
    }

    /// <summary>The IAM action being retried, for the retry pipeline's log line.</summary>
    public static readonly ResiliencePropertyKey<string> ActionKey = new("AccessWorkflows.Aws.IamAction");
}
