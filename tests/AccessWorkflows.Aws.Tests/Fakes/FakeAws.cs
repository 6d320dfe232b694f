using System.Collections.Concurrent;
using System.Globalization;
using System.Security;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AccessWorkflows.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace AccessWorkflows.Aws.Tests.Fakes;

/// <summary>
/// IAM's Query API and STS on loopback, as strict as AWS where AccessWorkflows could get it wrong: every IAM call's
/// SigV4 signature is verified against the test's long-term key or a session key this STS issued (scope: service
/// <c>iam</c> in <see cref="IamRegion"/>, <c>sts</c> in <see cref="StsRegion"/>; a session key needs its token and
/// dies at its expiry); users (with paths and tags), groups, managed policies, versions, tags and attachments live in
/// memory; answers use IAM's XML and error codes; a policy just created is NoSuchEntity to the next
/// <see cref="CreateLag"/> attachments (eventual consistency); throttling and 500s can be injected per action; and
/// with <see cref="AuthorizeSessions"/> every call made with a session key is authorized against the role's policy
/// and permissions boundary by <see cref="IamPolicyEvaluator"/>, answering AccessDenied as IAM does.
/// </summary>
public sealed partial class FakeAws : IAsyncDisposable
{
    public const string AccountId = "444455556666";
    public const string BaseAccessKey = "AKIAFAKEBASE00000001";
    public const string BaseSecretKey = "base-secret-key/for+tests";
    public const string RoleArn = "arn:aws:iam::444455556666:role/AccessWorkflowsProvisioner";
    public const string ExternalId = "ext-3f1c";

    /// <summary>The role in the management account that Identity Center calls must be signed with (no external id).</summary>
    public const string IdentityCenterRoleArn = "arn:aws:iam::111111111111:role/AccessWorkflowsIdentityCenter";
    public const string WebIdentityToken = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.entra-token.sig";

    private const string IamNs = "https://iam.amazonaws.com/doc/2010-05-08/";
    private const string StsNs = "https://sts.amazonaws.com/doc/2011-06-15/";

    private readonly object _gate = new();
    private readonly ConcurrentDictionary<string, (string Secret, string? Token, DateTimeOffset Expires)> _keys = new();

    /// <summary>The role each session key was issued for.</summary>
    private readonly ConcurrentDictionary<string, string> _keyRoles = new();
    private readonly Dictionary<string, int> _lag = new(StringComparer.Ordinal);
    private (string Policy, string? Boundary)? _roleAuthorization;
    private readonly Dictionary<string, Queue<int>> _faults = new(StringComparer.Ordinal);
    private LoopbackServer? _server;

    private FakeAws()
    {
        _keys[BaseAccessKey] = (BaseSecretKey, null, DateTimeOffset.MaxValue);
    }

    public Uri BaseAddress => _server!.BaseAddress;

    public Dictionary<string, FakeUser> Users { get; } = new(StringComparer.OrdinalIgnoreCase);

    public Dictionary<string, HashSet<string>> Groups { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, FakePolicy> Policies { get; } = new(StringComparer.Ordinal);

    /// <summary>Every IAM call that passed signature verification, in order.</summary>
    public List<RecordedCall> Calls { get; } = [];

    /// <summary>Every request refused before reaching IAM's logic (bad signature, unknown key), with its error code.</summary>
    public List<string> Rejections { get; } = [];

    public List<RecordedCall> StsCalls { get; } = [];

    /// <summary>The region IAM calls must be signed for (IAM is global: us-east-1 in the aws partition).</summary>
    public string IamRegion { get; set; } = "us-east-1";

    /// <summary>The region STS calls must be signed for: the regional endpoint of the deployment's region.</summary>
    public string StsRegion { get; set; } = "us-east-1";

    /// <summary>How many AttachUserPolicy calls a freshly created policy answers NoSuchEntity (IAM is eventually
    /// consistent; AWS documents that a new entity may not be visible at once).</summary>
    public int CreateLag { get; set; } = 1;

    /// <summary>How long sessions issued by AssumeRole* last.</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Items per page of every listing (small values exercise Marker paging).</summary>
    public int PageSize { get; set; } = 100;

    public static async Task<FakeAws> StartAsync()
    {
        var fake = new FakeAws();
        fake._server = await LoopbackServer.StartAsync(app => app.MapPost("/{**path}", fake.HandleAsync));
        return fake;
    }

    public IReadOnlyList<string> CallNames()
    {
        lock (_gate)
        {
            return Calls.Select(c => c.Action).ToList();
        }
    }

    public void ClearCalls()
    {
        lock (_gate)
        {
            Calls.Clear();
            StsCalls.Clear();
        }
    }

    /// <summary>The next <paramref name="count"/> calls of <paramref name="action"/> fail with <paramref name="status"/>:
    /// 400 answers Throttling, 500 ServiceFailure.</summary>
    public void Fail(string action, int count, int status)
    {
        lock (_gate)
        {
            if (!_faults.TryGetValue(action, out var queue))
            {
                _faults[action] = queue = new Queue<int>();
            }

            for (var i = 0; i < count; i++)
            {
                queue.Enqueue(status);
            }
        }
    }

    /// <summary>Every IAM call made with a session key is authorized against this identity policy (and boundary),
    /// as AWS authorizes the provisioner role.</summary>
    public void AuthorizeSessions(string policy, string? boundary = null)
    {
        lock (_gate)
        {
            _roleAuthorization = (policy, boundary);
        }
    }

    public FakeUser AddUser(string name, params (string Key, string Value)[] tags) => AddUserAt("/", name, tags);

    public FakeUser AddUserAt(string path, string name, params (string Key, string Value)[] tags)
    {
        lock (_gate)
        {
            var user = new FakeUser(name, "AIDA" + RandomId(16), tags.Select(t => new KeyValuePair<string, string>(t.Key, t.Value)).ToList()) { Path = path };
            Users[name] = user;
            return user;
        }
    }

    public void AddGroup(string name)
    {
        lock (_gate)
        {
            Groups[name] = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        }
    }

    /// <summary>Adds a managed policy; an ARN with account <c>aws</c> is AWS managed.</summary>
    public FakePolicy AddPolicy(string arn, string document)
    {
        lock (_gate)
        {
            var resource = arn.Split(':', 6)[5]; // policy/path/name
            var name = resource[(resource.LastIndexOf('/') + 1)..];
            var path = resource["policy".Length..^name.Length];
            var policy = new FakePolicy(arn, name, path, "ANPA" + RandomId(16), []);
            policy.Versions.Add(new FakeVersion("v1", document, true));
            Policies[arn] = policy;
            return policy;
        }
    }

    public int AssumeRoleCount
    {
        get
        {
            lock (_gate)
            {
                return StsCalls.Count(c => c.Action.StartsWith("AssumeRole", StringComparison.Ordinal));
            }
        }
    }

    public ValueTask DisposeAsync() => _server?.DisposeAsync() ?? ValueTask.CompletedTask;

    private async Task HandleAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer);
        var body = buffer.ToArray();
        if (context.Request.Headers.ContainsKey("X-Amz-Target"))
        {
            // The JSON 1.1 services (sso-admin, identitystore, cloudtrail) share this endpoint.
            var (jsonStatus, json) = HandleJson(context.Request, body);
            context.Response.StatusCode = jsonStatus;
            context.Response.ContentType = "application/x-amz-json-1.1";
            await context.Response.WriteAsync(json);
            return;
        }

        var form = QueryHelpers.ParseQuery(Encoding.UTF8.GetString(body)).ToDictionary(p => p.Key, p => p.Value.ToString(), StringComparer.Ordinal);
        var action = form.GetValueOrDefault("Action") ?? string.Empty;
        var isSts = action is "AssumeRole" or "AssumeRoleWithWebIdentity" or "GetCallerIdentity";
        string xml;
        int status;
        if (isSts)
        {
            (status, xml) = HandleSts(context.Request, body, action, form);
        }
        else
        {
            (status, xml) = HandleIam(context.Request, body, action, form);
        }

        context.Response.StatusCode = status;
        context.Response.ContentType = "text/xml";
        await context.Response.WriteAsync(xml);
    }

    private (int, string) HandleIam(HttpRequest request, byte[] body, string action, Dictionary<string, string> form)
    {
        var verified = SigV4Verifier.Verify(request, body, "iam", IamRegion, SecretFor, DateTimeOffset.UtcNow);
        lock (_gate)
        {
            if (!verified.Ok)
            {
                Rejections.Add(verified.ErrorCode!);
                return Error(IamNs, 403, verified.ErrorCode!, verified.Message!);
            }

            if (form.GetValueOrDefault("Version") != "2010-05-08")
            {
                return Error(IamNs, 400, "InvalidAction", "Could not find operation " + action + " for version " + form.GetValueOrDefault("Version"));
            }

            Calls.Add(new RecordedCall(action, form, verified.AccessKeyId!));
            if (_roleAuthorization is { } role && _keys[verified.AccessKeyId!].Token is not null && Authorize(role, action, form) is { } denied)
            {
                Rejections.Add("AccessDenied");
                return Error(IamNs, 403, "AccessDenied", denied);
            }

            if (_faults.TryGetValue(action, out var queue) && queue.Count > 0)
            {
                var fault = queue.Dequeue();
                return fault == 400
                    ? Error(IamNs, 400, "Throttling", "Rate exceeded")
                    : Error(IamNs, fault, "ServiceFailure", "The request processing has failed because of an unknown error, exception or failure.");
            }

            try
            {
                return (200, Iam(action, form));
            }
            catch (IamFault fault)
            {
                return Error(IamNs, fault.Status, fault.Code, fault.Message);
            }
        }
    }

    private (string Secret, string? Token)? SecretFor(string accessKeyId) =>
        _keys.TryGetValue(accessKeyId, out var k) && k.Expires > DateTimeOffset.UtcNow ? (k.Secret, k.Token) : null;

    /// <summary>Null when the role's policy allows the call; otherwise IAM's AccessDenied message.</summary>
    private string? Authorize((string Policy, string? Boundary) role, string action, Dictionary<string, string> p)
    {
        var calls = new List<IamCall>();
        IamCall OnUser(string name)
        {
            var user = Users.GetValueOrDefault(name);
            var call = new IamCall("iam:" + action, $"arn:aws:iam::{AccountId}:user{user?.Path ?? "/"}{name}");
            foreach (var tag in user?.Tags ?? [])
            {
                call = call.With("aws:ResourceTag/" + tag.Key, tag.Value);
            }

            return call;
        }

        IamCall OnPolicy(string arn)
        {
            var call = new IamCall("iam:" + action, arn);
            foreach (var tag in Policies.GetValueOrDefault(arn)?.Tags ?? [])
            {
                call = call.With("aws:ResourceTag/" + tag.Key, tag.Value);
            }

            return call;
        }

        switch (action)
        {
            case "GetUser" or "ListUserTags" or "ListAttachedUserPolicies" or "ListGroupsForUser":
                calls.Add(OnUser(p.GetValueOrDefault("UserName", string.Empty)));
                break;
            case "AttachUserPolicy" or "DetachUserPolicy":
                calls.Add(OnUser(p.GetValueOrDefault("UserName", string.Empty)).With("iam:PolicyARN", p.GetValueOrDefault("PolicyArn", string.Empty)));
                break;
            case "AddUserToGroup" or "RemoveUserFromGroup":
                calls.Add(new IamCall("iam:" + action, $"arn:aws:iam::{AccountId}:group/{p.GetValueOrDefault("GroupName")}"));
                break;
            case "GetPolicy" or "GetPolicyVersion" or "ListPolicyVersions" or "ListEntitiesForPolicy" or "DeletePolicy" or "DeletePolicyVersion" or "CreatePolicyVersion":
                calls.Add(OnPolicy(p.GetValueOrDefault("PolicyArn", string.Empty)));
                break;
            case "CreatePolicy":
                var created = new IamCall("iam:CreatePolicy", $"arn:aws:iam::{AccountId}:policy{p.GetValueOrDefault("Path", "/")}{p.GetValueOrDefault("PolicyName")}");
                var keys = new List<string>();
                for (var i = 1; p.TryGetValue($"Tags.member.{i}.Key", out var key); i++)
                {
                    created = created.With("aws:RequestTag/" + key, p.GetValueOrDefault($"Tags.member.{i}.Value") ?? string.Empty);
                    keys.Add(key);
                }

                created = created.With("aws:TagKeys", [.. keys]);
                calls.Add(created);
                if (keys.Count > 0)
                {
                    calls.Add(created with { Action = "iam:TagPolicy" });
                }

                break;
            default:
                calls.Add(new IamCall("iam:" + action, "*"));
                break;
        }

        var refused = calls.FirstOrDefault(c => IamPolicyEvaluator.Evaluate(role.Policy, c, role.Boundary) != IamDecision.Allow);
        return refused is null
            ? null
            : $"User: arn:aws:sts::{AccountId}:assumed-role/AccessWorkflowsProvisioner/access-workflows is not authorized to perform: {refused.Action} on resource: {refused.Resource}";
    }

    private string Iam(string action, Dictionary<string, string> p) => action switch
    {
        "GetUser" => Ok("GetUser", "<User>" + UserXml(User(Param(p, "UserName"))) + "</User>"),
        "ListUsers" => Ok("ListUsers", PageXml("Users", Users.Values.Where(u => u.Path.StartsWith(p.GetValueOrDefault("PathPrefix", "/"), StringComparison.Ordinal)).OrderBy(u => u.Name, StringComparer.Ordinal).Select(UserXml), p)),
        "ListUserTags" => Ok("ListUserTags", PageXml("Tags", User(Param(p, "UserName")).Tags.Select(TagXml), p)),
        "ListAttachedUserPolicies" => Ok("ListAttachedUserPolicies", PageXml("AttachedPolicies", User(Param(p, "UserName")).Attached.Order(StringComparer.Ordinal).Select(a => $"<PolicyName>{X(Policies[a].Name)}</PolicyName><PolicyArn>{X(a)}</PolicyArn>"), p)),
        "ListGroupsForUser" => Ok("ListGroupsForUser", PageXml("Groups", Groups.Where(g => g.Value.Contains(User(Param(p, "UserName")).Name)).Select(g => GroupXml(g.Key)), p)),
        "AttachUserPolicy" => AttachUserPolicy(User(Param(p, "UserName")), Policy(Param(p, "PolicyArn"))),
        "DetachUserPolicy" => DetachUserPolicy(User(Param(p, "UserName")), Param(p, "PolicyArn")),
        "AddUserToGroup" => AddUserToGroup(Group(Param(p, "GroupName")), User(Param(p, "UserName"))),
        "RemoveUserFromGroup" => RemoveUserFromGroup(Group(Param(p, "GroupName")), User(Param(p, "UserName"))),
        "GetPolicy" => Ok("GetPolicy", PolicyXml(Policy(Param(p, "PolicyArn")), withTags: true)),
        "GetPolicyVersion" => GetPolicyVersion(Policy(Param(p, "PolicyArn")), Param(p, "VersionId")),
        "ListPolicies" => Ok("ListPolicies", PageXml("Policies", Policies.Values
            .Where(x => p.GetValueOrDefault("Scope", "All") switch { "AWS" => x.IsAwsManaged, "Local" => !x.IsAwsManaged, _ => true })
            .Where(x => x.Path.StartsWith(p.GetValueOrDefault("PathPrefix", "/"), StringComparison.Ordinal))
            .OrderBy(x => x.Arn, StringComparer.Ordinal).Select(x => PolicyXml(x, withTags: false)), p)),
        "ListGroups" => Ok("ListGroups", PageXml("Groups", Groups.Keys.Order(StringComparer.Ordinal).Select(GroupXml), p)),
        "CreatePolicy" => CreatePolicy(p),
        "CreatePolicyVersion" => CreatePolicyVersion(Policy(Param(p, "PolicyArn")), p),
        "ListPolicyVersions" => Ok("ListPolicyVersions", PageXml("Versions", Policy(Param(p, "PolicyArn")).Versions.Select(v => $"<VersionId>{v.Id}</VersionId><IsDefaultVersion>{(v.IsDefault ? "true" : "false")}</IsDefaultVersion><CreateDate>2026-01-01T00:00:00Z</CreateDate>"), p)),
        "DeletePolicyVersion" => DeletePolicyVersion(Policy(Param(p, "PolicyArn")), Param(p, "VersionId")),
        "DeletePolicy" => DeletePolicy(Policy(Param(p, "PolicyArn"))),
        "ListEntitiesForPolicy" => ListEntitiesForPolicy(Policy(Param(p, "PolicyArn")), p),
        _ => throw new IamFault(400, "InvalidAction", $"Could not find operation {action} for version 2010-05-08"),
    };

    private string AttachUserPolicy(FakeUser user, FakePolicy policy)
    {
        if (_lag.TryGetValue(policy.Arn, out var lag) && lag > 0)
        {
            _lag[policy.Arn] = lag - 1;
            throw new IamFault(404, "NoSuchEntity", $"Policy {policy.Arn} does not exist or is not attachable.");
        }

        if (!user.Attached.Contains(policy.Arn) && user.Attached.Count >= 10)
        {
            throw new IamFault(409, "LimitExceeded", "Cannot exceed quota for PoliciesPerUser: 10");
        }

        user.Attached.Add(policy.Arn);
        return Ok("AttachUserPolicy", null);
    }

    private string DetachUserPolicy(FakeUser user, string arn)
    {
        if (!user.Attached.Remove(arn))
        {
            throw new IamFault(404, "NoSuchEntity", $"Policy {arn} was not found.");
        }

        return Ok("DetachUserPolicy", null);
    }

    private string AddUserToGroup(string group, FakeUser user)
    {
        Groups[group].Add(user.Name);
        return Ok("AddUserToGroup", null);
    }

    private string RemoveUserFromGroup(string group, FakeUser user)
    {
        if (!Groups[group].Remove(user.Name))
        {
            throw new IamFault(404, "NoSuchEntity", $"The user with name {user.Name} cannot be found in group {group}.");
        }

        return Ok("RemoveUserFromGroup", null);
    }

    private string GetPolicyVersion(FakePolicy policy, string versionId)
    {
        var version = policy.Versions.FirstOrDefault(v => v.Id == versionId) ?? throw new IamFault(404, "NoSuchEntity", $"Policy {policy.Arn} version {versionId} does not exist or is not attachable.");
        return Ok("GetPolicyVersion", $"<PolicyVersion><Document>{X(Uri.EscapeDataString(version.Document))}</Document><VersionId>{version.Id}</VersionId><IsDefaultVersion>{(version.IsDefault ? "true" : "false")}</IsDefaultVersion><CreateDate>2026-01-01T00:00:00Z</CreateDate></PolicyVersion>");
    }

    private string CreatePolicy(Dictionary<string, string> p)
    {
        var name = Param(p, "PolicyName");
        var path = p.GetValueOrDefault("Path", "/");
        var document = Param(p, "PolicyDocument");
        if (!PolicyNameRegex().IsMatch(name) || !PathRegex().IsMatch(path))
        {
            throw new IamFault(400, "ValidationError", "1 validation error detected: Value at 'policyName' or 'path' failed to satisfy constraint");
        }

        ValidatePolicyDocument(document);
        if (Policies.Values.Any(x => !x.IsAwsManaged && x.Name == name))
        {
            throw new IamFault(409, "EntityAlreadyExists", $"A policy called {name} already exists. Duplicate names are not allowed.");
        }

        var tags = new List<KeyValuePair<string, string>>();
        for (var i = 1; p.TryGetValue($"Tags.member.{i}.Key", out var key); i++)
        {
            tags.Add(new(key, p.GetValueOrDefault($"Tags.member.{i}.Value") ?? string.Empty));
        }

        var arn = $"arn:aws:iam::{AccountId}:policy{path}{name}";
        var policy = new FakePolicy(arn, name, path, "ANPA" + RandomId(16), tags);
        policy.Versions.Add(new FakeVersion("v1", document, true));
        Policies[arn] = policy;
        _lag[arn] = CreateLag;
        return Ok("CreatePolicy", PolicyXml(policy, withTags: true));
    }

    private string CreatePolicyVersion(FakePolicy policy, Dictionary<string, string> p)
    {
        var document = Param(p, "PolicyDocument");
        ValidatePolicyDocument(document);
        if (policy.IsAwsManaged)
        {
            throw new IamFault(403, "AccessDenied", "AWS managed policies cannot be changed.");
        }

        if (policy.Versions.Count >= 5)
        {
            throw new IamFault(409, "LimitExceeded", "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.");
        }

        var makeDefault = string.Equals(p.GetValueOrDefault("SetAsDefault"), "true", StringComparison.OrdinalIgnoreCase);
        var id = "v" + (policy.Versions.Select(v => int.Parse(v.Id[1..], CultureInfo.InvariantCulture)).Max() + 1).ToString(CultureInfo.InvariantCulture);
        if (makeDefault)
        {
            for (var i = 0; i < policy.Versions.Count; i++)
            {
                policy.Versions[i] = policy.Versions[i] with { IsDefault = false };
            }
        }

        policy.Versions.Add(new FakeVersion(id, document, makeDefault));
        return Ok("CreatePolicyVersion", $"<PolicyVersion><VersionId>{id}</VersionId><IsDefaultVersion>{(makeDefault ? "true" : "false")}</IsDefaultVersion><CreateDate>2026-01-01T00:00:00Z</CreateDate></PolicyVersion>");
    }

    private static void ValidatePolicyDocument(string document)
    {
        try
        {
            using var json = JsonDocument.Parse(document);
            var statements = json.RootElement.GetProperty("Statement");
            foreach (var statement in statements.ValueKind == JsonValueKind.Array ? statements.EnumerateArray().ToList() : [statements])
            {
                var actions = statement.GetProperty("Action");
                foreach (var action in actions.ValueKind == JsonValueKind.Array ? actions.EnumerateArray().Select(a => a.GetString()!) : [actions.GetString()!])
                {
                    if (!ActionRegex().IsMatch(action))
                    {
                        throw new IamFault(400, "MalformedPolicyDocument", $"Action {action} is not valid.");
                    }
                }

                if (statement.GetProperty("Effect").GetString() is not ("Allow" or "Deny") || !statement.TryGetProperty("Resource", out _))
                {
                    throw new IamFault(400, "MalformedPolicyDocument", "Statement is missing Effect or Resource.");
                }

                if (statement.TryGetProperty("Condition", out var condition))
                {
                    foreach (var op in condition.EnumerateObject())
                    {
                        foreach (var key in op.Value.EnumerateObject())
                        {
                            if (op.Name.StartsWith("Date", StringComparison.Ordinal)
                                && !DateTimeOffset.TryParseExact(key.Value.GetString(), "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _))
                            {
                                throw new IamFault(400, "MalformedPolicyDocument", $"The date {key.Value} of {op.Name} is not valid.");
                            }
                        }
                    }
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new IamFault(400, "MalformedPolicyDocument", "Syntax errors in policy.");
        }
    }

    private string DeletePolicyVersion(FakePolicy policy, string versionId)
    {
        var version = policy.Versions.FirstOrDefault(v => v.Id == versionId) ?? throw new IamFault(404, "NoSuchEntity", $"Policy {policy.Arn} version {versionId} does not exist.");
        if (version.IsDefault)
        {
            throw new IamFault(409, "DeleteConflict", "Cannot delete the default version of a policy.");
        }

        policy.Versions.Remove(version);
        return Ok("DeletePolicyVersion", null);
    }

    private string DeletePolicy(FakePolicy policy)
    {
        if (Users.Values.Any(u => u.Attached.Contains(policy.Arn)))
        {
            throw new IamFault(409, "DeleteConflict", "Cannot delete a policy attached to entities.");
        }

        if (policy.Versions.Count > 1)
        {
            throw new IamFault(409, "DeleteConflict", "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.");
        }

        Policies.Remove(policy.Arn);
        return Ok("DeletePolicy", null);
    }

    private string ListEntitiesForPolicy(FakePolicy policy, Dictionary<string, string> p)
    {
        var users = Users.Values.Where(u => u.Attached.Contains(policy.Arn)).OrderBy(u => u.Name, StringComparer.Ordinal).Select(u => $"<UserName>{X(u.Name)}</UserName><UserId>{u.Id}</UserId>");
        return Ok("ListEntitiesForPolicy", PageXml("PolicyUsers", users, p) + "<PolicyGroups/><PolicyRoles/>");
    }

    private (int, string) HandleSts(HttpRequest request, byte[] body, string action, Dictionary<string, string> form)
    {
        lock (_gate)
        {
            StsCalls.Add(new RecordedCall(action, form, string.Empty));
        }

        if (form.GetValueOrDefault("Version") != "2011-06-15")
        {
            return Error(StsNs, 400, "InvalidAction", "Unknown version");
        }

        if (action == "AssumeRole")
        {
            var verified = SigV4Verifier.Verify(request, body, "sts", StsRegion, ak => ak == BaseAccessKey ? (BaseSecretKey, null) : null, DateTimeOffset.UtcNow);
            if (!verified.Ok)
            {
                lock (_gate)
                {
                    Rejections.Add(verified.ErrorCode!);
                }

                return Error(StsNs, 403, verified.ErrorCode!, verified.Message!);
            }

            var role = form.GetValueOrDefault("RoleArn");
            if (!(role == RoleArn && form.GetValueOrDefault("ExternalId") == ExternalId) && !(role == IdentityCenterRoleArn && !form.ContainsKey("ExternalId")))
            {
                return Error(StsNs, 403, "AccessDenied", $"User: arn:aws:iam::111111111111:role/AccessWorkflows is not authorized to perform: sts:AssumeRole on resource: {form.GetValueOrDefault("RoleArn")}");
            }
        }
        else if (action == "AssumeRoleWithWebIdentity")
        {
            if (request.Headers.Authorization.Count > 0)
            {
                return Error(StsNs, 400, "InvalidParameterValue", "AssumeRoleWithWebIdentity is not a signed call.");
            }

            if (form.GetValueOrDefault("WebIdentityToken") != WebIdentityToken)
            {
                return Error(StsNs, 400, "InvalidIdentityToken", "Couldn't retrieve verification key from your identity provider");
            }

            if (form.GetValueOrDefault("RoleArn") != RoleArn)
            {
                return Error(StsNs, 403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity");
            }
        }
        else
        {
            return Error(StsNs, 400, "InvalidAction", "Unsupported action");
        }

        var accessKey = "ASIA" + RandomId(16);
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(30));
        var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(60));
        _keys[accessKey] = (secret, token, DateTimeOffset.UtcNow.Add(SessionLifetime));
        _keyRoles[accessKey] = form.GetValueOrDefault("RoleArn") ?? string.Empty;
        var expiration = DateTime.UtcNow.Add(SessionLifetime).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var session = form.GetValueOrDefault("RoleSessionName");
        var extra = action == "AssumeRoleWithWebIdentity"
            ? "<SubjectFromWebIdentityToken>00000000-0000-0000-0000-000000000001</SubjectFromWebIdentityToken><Audience>api://AzureADTokenExchange</Audience><Provider>sts.windows.net/tenant/</Provider>"
            : "<PackedPolicySize>0</PackedPolicySize>";
        var xml = $"""
            <{action}Response xmlns="{StsNs}">
              <{action}Result>
                <AssumedRoleUser>
                  <Arn>arn:aws:sts::{AccountId}:assumed-role/AccessWorkflowsProvisioner/{X(session ?? string.Empty)}</Arn>
                  <AssumedRoleId>AROAFAKE:{X(session ?? string.Empty)}</AssumedRoleId>
                </AssumedRoleUser>
                <Credentials>
                  <AccessKeyId>{accessKey}</AccessKeyId>
                  <SecretAccessKey>{X(secret)}</SecretAccessKey>
                  <SessionToken>{X(token)}</SessionToken>
                  <Expiration>{expiration}</Expiration>
                </Credentials>
                {extra}
              </{action}Result>
              <ResponseMetadata><RequestId>{Guid.NewGuid()}</RequestId></ResponseMetadata>
            </{action}Response>
            """;
        return (200, xml);
    }

    private FakeUser User(string name) => Users.TryGetValue(name, out var user) ? user : throw new IamFault(404, "NoSuchEntity", $"The user with name {name} cannot be found.");

    private string Group(string name) => Groups.ContainsKey(name) ? name : throw new IamFault(404, "NoSuchEntity", $"The group with name {name} cannot be found.");

    private FakePolicy Policy(string arn) => Policies.TryGetValue(arn, out var policy) ? policy : throw new IamFault(404, "NoSuchEntity", $"Policy {arn} does not exist or is not attachable.");

    private static string Param(Dictionary<string, string> p, string name) =>
        p.TryGetValue(name, out var value) && value.Length > 0 ? value : throw new IamFault(400, "ValidationError", $"1 validation error detected: Value null at '{char.ToLowerInvariant(name[0])}{name[1..]}' failed to satisfy constraint: Member must not be null");

    private string PageXml(string listName, IEnumerable<string> members, Dictionary<string, string> p)
    {
        var all = members.ToList();
        var start = p.TryGetValue("Marker", out var marker) ? int.Parse(marker.Split('-')[1], CultureInfo.InvariantCulture) : 0;
        var size = Math.Min(PageSize, p.TryGetValue("MaxItems", out var max) ? int.Parse(max, CultureInfo.InvariantCulture) : 100);
        var page = all.Skip(start).Take(size).ToList();
        var truncated = start + page.Count < all.Count;
        var xml = new StringBuilder($"<{listName}>");
        foreach (var member in page)
        {
            xml.Append("<member>").Append(member).Append("</member>");
        }

        xml.Append($"</{listName}><IsTruncated>{(truncated ? "true" : "false")}</IsTruncated>");
        if (truncated)
        {
            xml.Append($"<Marker>page-{start + page.Count}</Marker>");
        }

        return xml.ToString();
    }

    private static string UserXml(FakeUser u) =>
        $"<Path>{X(u.Path)}</Path><UserName>{X(u.Name)}</UserName><UserId>{u.Id}</UserId><Arn>arn:aws:iam::{AccountId}:user{X(u.Path)}{X(u.Name)}</Arn><CreateDate>2026-01-01T00:00:00Z</CreateDate>";

    private static string TagXml(KeyValuePair<string, string> t) => $"<Key>{X(t.Key)}</Key><Value>{X(t.Value)}</Value>";

    private static string GroupXml(string g) =>
        $"<Path>/</Path><GroupName>{X(g)}</GroupName><GroupId>AGPA{Math.Abs(g.GetHashCode(StringComparison.Ordinal))}</GroupId><Arn>arn:aws:iam::{AccountId}:group/{X(g)}</Arn><CreateDate>2026-01-01T00:00:00Z</CreateDate>";

    private string PolicyXml(FakePolicy x, bool withTags)
    {
        var attachments = Users.Values.Count(u => u.Attached.Contains(x.Arn));
        var tags = withTags && x.Tags.Count > 0 ? "<Tags>" + string.Concat(x.Tags.Select(t => "<member>" + TagXml(t) + "</member>")) + "</Tags>" : string.Empty;
        var wrapper = withTags ? "Policy" : null;
        var inner = $"<PolicyName>{X(x.Name)}</PolicyName><DefaultVersionId>{x.Versions.First(v => v.IsDefault).Id}</DefaultVersionId><PolicyId>{x.Id}</PolicyId><Path>{X(x.Path)}</Path><Arn>{X(x.Arn)}</Arn><AttachmentCount>{attachments}</AttachmentCount><IsAttachable>true</IsAttachable><CreateDate>2026-01-01T00:00:00Z</CreateDate><UpdateDate>2026-01-01T00:00:00Z</UpdateDate>{tags}";
        return wrapper is null ? inner : $"<{wrapper}>{inner}</{wrapper}>";
    }

    private static string Ok(string action, string? result) =>
        $"""<{action}Response xmlns="{IamNs}">{(result is null ? string.Empty : $"<{action}Result>{result}</{action}Result>")}<ResponseMetadata><RequestId>{Guid.NewGuid()}</RequestId></ResponseMetadata></{action}Response>""";

    private static (int, string) Error(string ns, int status, string code, string message) =>
        (status, $"""<ErrorResponse xmlns="{ns}"><Error><Type>{(status >= 500 ? "Receiver" : "Sender")}</Type><Code>{code}</Code><Message>{X(message)}</Message></Error><RequestId>{Guid.NewGuid()}</RequestId></ErrorResponse>""");

    private static string X(string value) => SecurityElement.Escape(value);

    private static string RandomId(int length) => Convert.ToHexString(RandomNumberGenerator.GetBytes(length))[..length];

    [GeneratedRegex(@"^[\w+=,.@-]{1,128}$")]
    private static partial Regex PolicyNameRegex();

    [GeneratedRegex(@"^/([\x21-\x7E]+/)?$")]
    private static partial Regex PathRegex();

    [GeneratedRegex(@"^(\*|[a-z0-9-]+:[A-Za-z0-9*?]+)$")]
    private static partial Regex ActionRegex();

    private sealed class IamFault(int status, string code, string message) : Exception(message)
    {
        public int Status { get; } = status;

        public string Code { get; } = code;
    }
}

public sealed record FakeUser(string Name, string Id, List<KeyValuePair<string, string>> Tags)
{
    public string Path { get; init; } = "/";

    public HashSet<string> Attached { get; } = new(StringComparer.Ordinal);
}

public sealed record FakePolicy(string Arn, string Name, string Path, string Id, List<KeyValuePair<string, string>> Tags)
{
    public List<FakeVersion> Versions { get; } = [];

    public bool IsAwsManaged => Arn.StartsWith("arn:aws:iam::aws:", StringComparison.Ordinal);
}

public sealed record FakeVersion(string Id, string Document, bool IsDefault);

public sealed record RecordedCall(string Action, IReadOnlyDictionary<string, string> Parameters, string AccessKeyId);
