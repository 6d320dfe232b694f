using AccessWorkflows.Aws.Credentials;
using AccessWorkflows.Aws.Tests.Fakes;
using AccessWorkflows.Requests;
using AccessWorkflows.Rules;
using AccessWorkflows.Storage;
using Amazon.Runtime;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Aws.Tests;

/// <summary>The AWS provider wired through <c>AddAws</c> exactly as a host does, pointed at <see cref="FakeAws"/>
/// by the SDKs' endpoint variables.</summary>
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
        Func<FakeAws, Dictionary<string, string?>>? endpoints = null)
    {
        var aws = await FakeAws.StartAsync();
        var settings = endpoints?.Invoke(aws) ?? new Dictionary<string, string?>
        {
            ["AWS_ENDPOINT_URL_IAM"] = aws.BaseAddress.ToString(),
            ["AWS_ENDPOINT_URL_STS"] = aws.BaseAddress.ToString(),
        };
        settings["AccessWorkflows:Aws:Trust"] = trust;
        settings["AccessWorkflows:Aws:Retry:BaseDelay"] = "00:00:00.005";
        settings["AccessWorkflows:Aws:Retry:MaxDelay"] = "00:00:00.040";
        settings["AccessWorkflows:Aws:Retry:MaxAttempts"] = "5";
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
        services.AddAws(configuration);
        return new AwsHarness(aws, services.BuildServiceProvider(), time);
    }

    public static AccessRequest Request(string id, RequestStatus status, AccessSpec access, string requester = "alice@example.com") => new()
    {
        Id = id,
        Requester = requester,
        AccountId = FakeAws.AccountId,
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
