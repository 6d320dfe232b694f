using AccessWorkflows.Aws.Credentials;
using AccessWorkflows.Rules;
using Amazon;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace AccessWorkflows.Aws.Iam;

/// <summary>Builds <see cref="IamQueryClient"/>s that sign with the account's session credentials and retry transient
/// failures with jittered exponential backoff inside the configured budget. IAM is a global service: it is called on
/// its partition's endpoint and signed for its partition's region (us-east-1 for <c>aws</c>), never for the
/// deployment's <see cref="AwsOptions.Region"/> — AWS refuses an IAM call scoped to any other region.</summary>
public sealed partial class IamClientFactory : IIamClientFactory
{
    public const string HttpClientName = "AccessWorkflows.Aws.Iam";

    private readonly IHttpClientFactory _httpClients;
    private readonly IAwsCredentialProvider _credentials;
    private readonly Uri _endpoint;
    private readonly RegionEndpoint _region;
    private readonly ResiliencePipeline _retry;

    public IamClientFactory(IHttpClientFactory httpClients, IAwsCredentialProvider credentials, AwsEndpoints endpoints, AwsOptions options, ILogger<IamClientFactory> logger)
    {
        _httpClients = httpClients;
        _credentials = credentials;
        var partition = options.Partition;
        _endpoint = endpoints.Configured("IAM") ?? partition.IamEndpoint;
        _region = RegionEndpoint.GetBySystemName(partition.IamSigningRegion);
        _retry = BuildRetryPipeline(options.Retry, logger);
    }

    public IIamClient For(AccountConfig account) => new IamQueryClient(
        _httpClients.CreateClient(HttpClientName),
        _endpoint,
        _region,
        ct => _credentials.GetCredentialsAsync(account, ct),
        _retry);

    internal static ResiliencePipeline BuildRetryPipeline(AwsRetryOptions options, ILogger logger) =>
        new ResiliencePipelineBuilder()
            .AddTimeout(options.Budget)
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = Math.Max(0, options.MaxAttempts - 1),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.BaseDelay,
                MaxDelay = options.MaxDelay,
                ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome.Exception, args.Context.CancellationToken)),
                OnRetry = args =>
                {
                    var action = args.Context.Properties.GetValue(IamQueryClient.ActionKey, "?");
                    var code = args.Outcome.Exception switch
                    {
                        IamException iam => iam.Code,
                        { } other => other.GetType().Name,
                        null => "none",
                    };
                    LogRetry(logger, action, code, args.AttemptNumber + 1, args.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();

    private static bool IsTransient(Exception? exception, CancellationToken token) => exception switch
    {
        IamException iam => iam.IsTransient,
        HttpRequestException => true,

        // HttpClient's own timeout; a cancellation by the caller or by the budget is not retried.
        TaskCanceledException or TimeoutRejectedException => !token.IsCancellationRequested,
        _ => false,
    };

    [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "IAM {Action} failed transiently ({Code}); retry {Attempt} after {Delay}")]
    private static partial void LogRetry(ILogger logger, string action, string code, int attempt, TimeSpan delay);
}
