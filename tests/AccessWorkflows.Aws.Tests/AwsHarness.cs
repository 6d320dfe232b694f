using AccessWorkflows.Aws.Credentials;
using AccessWorkflows.Aws.Tests.Fakes;
using AccessWorkflows.Grants;
using AccessWorkflows.Grants.Reconciliation;
using AccessWorkflows.Grants.Sandbox;
using AccessWorkflows.Requests;
using AccessWorkflows.Rules;
using AccessWorkflows.Storage;
using AccessWorkflows.Workflow;
using Amazon.Runtime;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Aws.Tests;

/// <summary>The AWS provider wired through <c>AddAws</c> exactly as a host does, pointed at <see cref="FakeAws"/>
/// by the SDKs' endpoint variables, with the core's grant service, sandbox and reconciler over in-memory stores and
/// <see cref="RulesYaml"/>.</summary>
public sealed class AwsHarness : IAsyncDisposable
{
    private AwsHarness(FakeAws aws, ServiceProvider services, ShiftableTime time)
    {
        Aws = aws;
        Services = services;
        Time = time;
    }

    public FakeAws Aws { get; }

    public ServiceProvider Services { get; }

    public ShiftableTime Time { get; }

    public AwsProvisioner Provisioner => Services.GetRequiredService<AwsProvisioner>();

    public InMemoryLedger Ledger => (InMemoryLedger)Services.GetRequiredService<IGrantLedger>();

    public InMemoryRequests Requests => (InMemoryRequests)Services.GetRequiredService<IRequestStore>();

    public InMemoryAudit Audit => (InMemoryAudit)Services.GetRequiredService<IAuditLog>();

    public InMemorySandbox Sandbox => (InMemorySandbox)Services.GetRequiredService<ISandboxIamStore>();

    public GrantService Grants => Services.GetRequiredService<GrantService>();

    public GrantReconciler Reconciler => Services.GetRequiredService<GrantReconciler>();

    public const string SandboxAccountId = "111122223333";

    /// <summary>The rules the harness runs with: the faked AWS account and a sandbox, granting ReadOnlyAccess,
    /// AmazonS3ReadOnlyAccess (also as the base of team-* buckets) and the Developers group.</summary>
    public const string RulesYaml = """
        admins: [secops@example.com]
        auditors: [audit@example.com]
        approverGroups:
          leads: [carol@example.com]
        accounts:
          - id: "111122223333"
            name: sandbox
            provider: sandbox
          - id: "444455556666"
            name: production
            roleArn: arn:aws:iam::444455556666:role/AccessWorkflowsProvisioner
            externalId: ext-3f1c
        identityCenter:
          instanceArn: "arn:aws:sso:::instance/ssoins-72230000aaaabbbb"
          identityStoreId: d-9067000000
          region: eu-west-1
          roleArn: arn:aws:iam::111111111111:role/AccessWorkflowsIdentityCenter
        rules:
          - name: readonly
            requesters: ["*@example.com"]
            accounts: ["111122223333", "444455556666"]
            access:
              policies: ["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/AmazonS3*ReadOnly*"]
              groups: [Developers]
              resources: ["arn:aws:s3:::team-*"]
              permissionSets: ["arn:aws:sso:::permissionSet/ssoins-72230000aaaabbbb/*"]
            approval:
              levels:
                - approvers: [group:leads]
        """;

    public static AccountConfig SandboxAccount() => new() { Id = SandboxAccountId, Name = "sandbox", Provider = "sandbox" };

    public static GrantInput Grant(string requestId, AccessSpec access, string userName, string accountId = FakeAws.AccountId) =>
        new(requestId, accountId, userName.Contains('@', StringComparison.Ordinal) ? userName : userName + "@example.com", access, userName);

    public static AccountConfig Account(UserMapping? mapping = null) => new()
    {
        Id = FakeAws.AccountId,
        Name = "production",
        RoleArn = FakeAws.RoleArn,
        ExternalId = FakeAws.ExternalId,
        UserMapping = mapping ?? UserMapping.UserNameIsEmail,
    };

    public static async Task<AwsHarness> StartAsync(
        string trust = "chain",
        string secretKey = FakeAws.BaseSecretKey,
        IWebIdentityTokenSource? webIdentity = null,
        Func<FakeAws, Dictionary<string, string?>>? endpoints = null,
        Dictionary<string, string?>? settingsOverride = null)
    {
        var aws = await FakeAws.StartAsync();
        var settings = endpoints?.Invoke(aws) ?? new Dictionary<string, string?>
        {
            ["AWS_ENDPOINT_URL_IAM"] = aws.BaseAddress.ToString(),
            ["AWS_ENDPOINT_URL_STS"] = aws.BaseAddress.ToString(),
            ["AWS_ENDPOINT_URL_SSO_ADMIN"] = aws.BaseAddress.ToString(),
            ["AWS_ENDPOINT_URL_IDENTITYSTORE"] = aws.BaseAddress.ToString(),
            ["AWS_ENDPOINT_URL_CLOUDTRAIL"] = aws.BaseAddress.ToString(),
        };
        settings["AccessWorkflows:Aws:Trust"] = trust;
        settings["AccessWorkflows:Aws:Retry:BaseDelay"] = "00:00:00.005";
        settings["AccessWorkflows:Aws:Retry:MaxDelay"] = "00:00:00.040";
        settings["AccessWorkflows:Aws:Retry:MaxAttempts"] = "5";
        settings["AccessWorkflows:Aws:AssignmentPollInterval"] = "00:00:00.005";
        settings["AccessWorkflows:Aws:ActivityRegions:0"] = "us-east-1";
        settings["AccessWorkflows:Aws:ActivityRegions:1"] = "eu-west-1";
        foreach (var (key, value) in settingsOverride ?? [])
        {
            settings[key] = value;
        }
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var time = new ShiftableTime();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<TimeProvider>(time);
        services.AddSingleton<IAwsBaseCredentials>(new FixedCredentials(new BasicAWSCredentials(FakeAws.BaseAccessKey, secretKey)));
        if (webIdentity is not null)
        {
            services.AddSingleton(webIdentity);
        }

        services.AddSingleton<IGrantLedger, InMemoryLedger>();
        services.AddSingleton<IRequestStore, InMemoryRequests>();
        services.AddSingleton<IAuditLog, InMemoryAudit>();
        services.AddSingleton<ISandboxIamStore, InMemorySandbox>();
        services.AddSingleton(RulesLoader.Parse(RulesYaml));
        services.AddSingleton<SandboxProvisioner>();
        services.AddSingleton<IProvisionerResolver, ProvisionerResolver>();
        services.AddSingleton<GrantService>();
        services.AddSingleton<GrantReconciler>();
        services.AddSingleton<Grants.Activity.ActivityCollector>();
        services.AddAws(configuration);
        return new AwsHarness(aws, services.BuildServiceProvider(), time);
    }

    public static AccessRequest Request(string id, RequestStatus status, AccessSpec access, string requester = "alice@example.com", string accountId = FakeAws.AccountId) => new()
    {
        Id = id,
        Requester = requester,
        AccountId = accountId,
        Access = access,
        Duration = TimeSpan.FromHours(1),
        RuleName = "readonly",
        Approval = new ApprovalPlan(),
        Status = status,
    };

    public async ValueTask DisposeAsync()
    {
        await Services.DisposeAsync();
        await Aws.DisposeAsync();
    }

    private sealed class FixedCredentials(AWSCredentials credentials) : IAwsBaseCredentials
    {
        public AWSCredentials Get() => credentials;
    }
}

/// <summary>Real time plus a shift the test moves forward (credential expiry, cache ages).</summary>
public sealed class ShiftableTime : TimeProvider
{
    public TimeSpan Shift { get; set; }

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + Shift;
}

public sealed class InMemoryLedger : IGrantLedger
{
    private readonly Dictionary<GrantKey, List<string>> _holders = [];

    public Task<int> AddHolderAsync(GrantKey key, string requestId, CancellationToken cancellationToken = default)
    {
        lock (_holders)
        {
            if (!_holders.TryGetValue(key, out var list))
            {
                _holders[key] = list = [];
            }

            if (!list.Contains(requestId))
            {
                list.Add(requestId);
            }

            return Task.FromResult(list.Count);
        }
    }

    public Task<int> RemoveHolderAsync(GrantKey key, string requestId, CancellationToken cancellationToken = default)
    {
        lock (_holders)
        {
            if (!_holders.TryGetValue(key, out var list))
            {
                return Task.FromResult(0);
            }

            list.Remove(requestId);
            if (list.Count == 0)
            {
                _holders.Remove(key);
            }

            return Task.FromResult(list.Count);
        }
    }

    public Task<IReadOnlyList<string>> GetHoldersAsync(GrantKey key, CancellationToken cancellationToken = default)
    {
        lock (_holders)
        {
            return Task.FromResult<IReadOnlyList<string>>(_holders.TryGetValue(key, out var list) ? [.. list] : []);
        }
    }

    public Task<IReadOnlyList<GrantHolding>> ListAsync(string accountId, CancellationToken cancellationToken = default)
    {
        lock (_holders)
        {
            return Task.FromResult<IReadOnlyList<GrantHolding>>(_holders.Where(h => h.Key.AccountId == accountId).Select(h => new GrantHolding(h.Key, [.. h.Value])).ToList());
        }
    }
}

public sealed class InMemoryRequests : IRequestStore
{
    private readonly Dictionary<string, AccessRequest> _requests = [];

    public Task<bool> TryCreateAsync(AccessRequest request, CancellationToken cancellationToken = default)
    {
        lock (_requests)
        {
            return Task.FromResult(_requests.TryAdd(request.Id, request));
        }
    }

    public Task<AccessRequest?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        lock (_requests)
        {
            return Task.FromResult(_requests.GetValueOrDefault(id));
        }
    }

    public Task<AccessRequest> UpdateAsync(string id, Func<AccessRequest, bool> mutate, CancellationToken cancellationToken = default)
    {
        lock (_requests)
        {
            var request = _requests[id];
            mutate(request);
            return Task.FromResult(request);
        }
    }

    public Task<RequestPage> QueryAsync(RequestQuery query, CancellationToken cancellationToken = default)
    {
        lock (_requests)
        {
            return Task.FromResult(new RequestPage(_requests.Values.Where(r => query.Status is null || r.Status == query.Status).ToList(), null));
        }
    }
}

public sealed class InMemoryAudit : IAuditLog
{
    public List<AuditEvent> Events { get; } = [];

    public Task AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default)
    {
        lock (Events)
        {
            if (Events.All(e => e.Id != auditEvent.Id))
            {
                Events.Add(auditEvent);
            }
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<AuditEvent>> ListAsync(string requestId, CancellationToken cancellationToken = default)
    {
        lock (Events)
        {
            return Task.FromResult<IReadOnlyList<AuditEvent>>(Events.Where(e => e.RequestId == requestId).ToList());
        }
    }

    public Task<AuditPage> QueryAsync(AuditQuery query, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The AWS tests never export the audit log.");
}

public sealed class InMemorySandbox : ISandboxIamStore
{
    private readonly Dictionary<(string, string), SandboxUser> _users = [];

    public Task<SandboxUser?> GetUserAsync(string accountId, string userName, CancellationToken cancellationToken = default)
    {
        lock (_users)
        {
            return Task.FromResult(_users.GetValueOrDefault((accountId, userName)));
        }
    }

    public Task<IReadOnlyList<SandboxUser>> ListUsersAsync(string accountId, CancellationToken cancellationToken = default)
    {
        lock (_users)
        {
            return Task.FromResult<IReadOnlyList<SandboxUser>>([.. _users.Values.Where(u => u.AccountId == accountId).OrderBy(u => u.UserName, StringComparer.Ordinal)]);
        }
    }

    public Task<SandboxUser> UpdateUserAsync(string accountId, string userName, Func<SandboxUser, SandboxUser> mutate, CancellationToken cancellationToken = default)
    {
        lock (_users)
        {
            var next = mutate(_users.GetValueOrDefault((accountId, userName)) ?? SandboxUser.Empty(accountId, userName));
            _users[(accountId, userName)] = next;
            return Task.FromResult(next);
        }
    }
}
