using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AccessWorkflows.Http;

/// <summary>The per-identity request rate limit (<c>AccessWorkflows:RateLimit:*</c>).</summary>
public sealed class RateLimitOptions
{
    /// <summary>Off only for load tests: every identity is then unlimited.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Requests one identity may make per <see cref="Window"/>.</summary>
    public int PermitLimit { get; set; } = 600;

    /// <summary>The fixed window the permits are counted in.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>
/// Limits how often one authenticated identity may call the API and the chat endpoints: a fixed window of
/// <see cref="RateLimitOptions.PermitLimit"/> requests per identity (System.Threading.RateLimiting, partitioned by the
/// identity). It is applied after authentication, never before: the partition is the verified caller (the bearer token's
/// email, the Slack user id from a signed payload, the Teams sender from a validated activity), so nobody can spend
/// another person's permits, and unauthenticated calls are refused with 401 before they count. Per process.
/// </summary>
public sealed partial class IdentityRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string>? _limiter;
    private readonly RateLimitOptions _options;
    private readonly ILogger<IdentityRateLimiter> _logger;

    public IdentityRateLimiter(IOptions<RateLimitOptions> options, ILogger<IdentityRateLimiter> logger)
    {
        _options = options.Value;
        _logger = logger;
        if (_options.PermitLimit < 1 || _options.Window <= TimeSpan.Zero)
        {
            throw new InvalidOperationException("AccessWorkflows:RateLimit:PermitLimit must be at least 1 and AccessWorkflows:RateLimit:Window positive.");
        }

        if (_options.Enabled)
        {
            _limiter = PartitionedRateLimiter.Create<string, string>(identity => RateLimitPartition.GetFixedWindowLimiter(identity, _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = _options.PermitLimit,
                Window = _options.Window,
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
        }
    }

    /// <summary>Takes one permit of <paramref name="identity"/> (for example <c>api:alice@example.com</c>,
    /// <c>slack:T1:U1</c>). Null when allowed; otherwise the 429 problem to answer, with <c>Retry-After</c>.</summary>
    public IResult? TryAcquire(string identity)
    {
        if (_limiter is null)
        {
            return null;
        }

        using var lease = _limiter.AttemptAcquire(identity);
        if (lease.IsAcquired)
        {
            return null;
        }

        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : _options.Window;
        LogLimited(_logger, identity, _options.PermitLimit, _options.Window);
        return Problems.TooManyRequests(
            $"Rate limit: at most {_options.PermitLimit} requests per {Requests.AccessDuration.Format(_options.Window)} per identity (AccessWorkflows:RateLimit). Try again later.",
            retryAfter);
    }

    public void Dispose() => _limiter?.Dispose();

    [LoggerMessage(EventId = 2201, Level = LogLevel.Warning, Message = "Rate limit reached for {Identity}: {PermitLimit} requests per {Window}")]
    private static partial void LogLimited(ILogger logger, string identity, int permitLimit, TimeSpan window);
}
