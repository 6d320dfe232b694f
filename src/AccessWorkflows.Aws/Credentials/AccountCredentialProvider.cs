using System.Collections.Concurrent;
using System.Net;
using AccessWorkflows.Grants;
using AccessWorkflows.Rules;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Credentials;
using Amazon.SecurityToken;
using Amazon.SecurityToken.Model;
using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Aws.Credentials;

/// <summary>The credentials to act in one account with.</summary>
public interface IAwsCredentialProvider
{
    Task<ImmutableCredentials> GetCredentialsAsync(AccountConfig account, CancellationToken cancellationToken = default);
}

/// <summary>Where the deployment's own AWS identity comes from (trust <c>chain</c>).</summary>
public interface IAwsBaseCredentials
{
    AWSCredentials Get();
}

/// <summary>The standard chain: environment, profile, web identity token file, container and instance metadata.</summary>
public sealed class DefaultChainCredentials : IAwsBaseCredentials
{
    private readonly Lazy<AWSCredentials> _credentials = new(() => DefaultAWSCredentialsIdentityResolver.GetCredentials(null));

    public AWSCredentials Get() => _credentials.Value;
}

/// <summary>
/// Session credentials per account: <c>AssumeRole</c> (with the account's externalId) using the chain's identity, or
/// <c>AssumeRoleWithWebIdentity</c> with an Entra token. Sessions are cached per account and role and renewed once
/// they are within 5 minutes of expiring, so an IAM call never starts with credentials about to lapse.
/// </summary>
public sealed partial class AccountCredentialProvider : IAwsCredentialProvider, IDisposable
{
    public static readonly TimeSpan RefreshMargin = TimeSpan.FromMinutes(5);

    private readonly AwsOptions _options;
    private readonly AwsEndpoints _endpoints;
    private readonly IAwsBaseCredentials _baseCredentials;
    private readonly IWebIdentityTokenSource? _webIdentity;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Session> _sessions = new();
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new();
    private readonly Lazy<AmazonSecurityTokenServiceClient> _sts;

    public AccountCredentialProvider(
        AwsOptions options,
        AwsEndpoints endpoints,
        IAwsBaseCredentials baseCredentials,
        IWebIdentityTokenSource? webIdentity,
        TimeProvider time,
        ILogger<AccountCredentialProvider> logger)
    {
        _options = options;
        _endpoints = endpoints;
        _baseCredentials = baseCredentials;
        _webIdentity = webIdentity;
        _time = time;
        _logger = logger;
        _sts = new Lazy<AmazonSecurityTokenServiceClient>(CreateStsClient);
    }

    private bool IsAzureTrust => string.Equals(_options.Trust, TrustModes.Azure, StringComparison.OrdinalIgnoreCase);

    public async Task<ImmutableCredentials> GetCredentialsAsync(AccountConfig account, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(account.RoleArn))
        {
            if (IsAzureTrust)
            {
                throw new PermanentProvisioningException(
                    $"Account {account.Id} has no roleArn; with AccessWorkflows:Aws:Trust=azure every AWS account needs the provisioner role (see aws-setup).");
            }

            // The deployment's own identity lives in the account: the SDK's chain caches and refreshes it.
            return await _baseCredentials.Get().GetCredentialsAsync();
        }

        var key = $"{account.Id}|{account.RoleArn}|{account.ExternalId}";
        if (TryFresh(key, out var cached))
        {
            return cached;
        }

        var gate = _locks.GetOrAdd(key, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (TryFresh(key, out cached))
            {
                return cached;
            }

            var session = await AssumeAsync(account, cancellationToken);
            _sessions[key] = session;
            LogAssumed(_logger, account.Id, account.RoleArn, session.Expiration);
            return session.Credentials;
        }
        finally
        {
            gate.Release();
        }
    }

    private bool TryFresh(string key, out ImmutableCredentials credentials)
    {
        if (_sessions.TryGetValue(key, out var session) && _time.GetUtcNow() < session.Expiration - RefreshMargin)
        {
            credentials = session.Credentials;
            return true;
        }

        credentials = null!;
        return false;
    }

    private async Task<Session> AssumeAsync(AccountConfig account, CancellationToken cancellationToken)
    {
        var duration = (int)Math.Clamp(_options.SessionDuration.TotalSeconds, 900, 43200);
        try
        {
            Amazon.SecurityToken.Model.Credentials issued;
            if (IsAzureTrust)
            {
                var tokens = _webIdentity ?? throw new PermanentProvisioningException("Trust is azure but no web identity token source is configured.");
                var token = await tokens.GetTokenAsync(cancellationToken);
                var response = await _sts.Value.AssumeRoleWithWebIdentityAsync(
                    new AssumeRoleWithWebIdentityRequest
                    {
                        RoleArn = account.RoleArn,
                        RoleSessionName = _options.RoleSessionName,
                        WebIdentityToken = token,
                        DurationSeconds = duration,
                    },
                    cancellationToken);
                issued = response.Credentials;
            }
            else
            {
                var request = new AssumeRoleRequest
                {
                    RoleArn = account.RoleArn,
                    RoleSessionName = _options.RoleSessionName,
                    DurationSeconds = duration,
                };
                if (!string.IsNullOrEmpty(account.ExternalId))
                {
                    request.ExternalId = account.ExternalId;
                }

                var response = await _sts.Value.AssumeRoleAsync(request, cancellationToken);
                issued = response.Credentials;
            }

            var expiration = issued.Expiration is { } at
                ? new DateTimeOffset(DateTime.SpecifyKind(at.Kind == DateTimeKind.Local ? at.ToUniversalTime() : at, DateTimeKind.Utc))
                : _time.GetUtcNow() + TimeSpan.FromSeconds(duration);
            return new Session(new ImmutableCredentials(issued.AccessKeyId, issued.SecretAccessKey, issued.SessionToken), expiration);
        }
        catch (AmazonSecurityTokenServiceException ex) when (IsPermanent(ex))
        {
            throw new PermanentProvisioningException(
                $"AWS STS refused to let AccessWorkflows assume {account.RoleArn} in account {account.Id} ({ex.ErrorCode}). Check the role's trust policy (aws-setup prints it).",
                ex);
        }
    }

    private static bool IsPermanent(AmazonSecurityTokenServiceException ex) =>
        ex.StatusCode is HttpStatusCode.Forbidden
        || ex.ErrorCode is "AccessDenied" or "InvalidIdentityToken" or "MalformedPolicyDocument" or "RegionDisabledException" or "ExpiredTokenException" or "IDPRejectedClaim" or "InvalidParameterValue" or "ValidationError";

    private AmazonSecurityTokenServiceClient CreateStsClient()
    {
        var config = new AmazonSecurityTokenServiceConfig();
        var endpoint = _endpoints.Sts;
        if (endpoint is not null)
        {
            config.ServiceURL = endpoint.ToString();
            config.AuthenticationRegion = _options.Region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(_options.Region);
        }

        // AssumeRoleWithWebIdentity is an unsigned call: the token is the proof, no AWS key is needed or present.
        return IsAzureTrust
            ? new AmazonSecurityTokenServiceClient(new AnonymousAWSCredentials(), config)
            : new AmazonSecurityTokenServiceClient(_baseCredentials.Get(), config);
    }

    public void Dispose()
    {
        if (_sts.IsValueCreated)
        {
            _sts.Value.Dispose();
        }

        foreach (var gate in _locks.Values)
        {
            gate.Dispose();
        }
    }

    private sealed record Session(ImmutableCredentials Credentials, DateTimeOffset Expiration);

    [LoggerMessage(EventId = 4111, Level = LogLevel.Information, Message = "Assumed {RoleArn} in account {AccountId}; session valid until {Expiration}")]
    private static partial void LogAssumed(ILogger logger, string accountId, string roleArn, DateTimeOffset expiration);
}
