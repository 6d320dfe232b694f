using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AccessWorkflows.Aws.Iam;
using Amazon;
using Amazon.Runtime;
using Polly;

namespace AccessWorkflows.Aws.Json;

/// <summary>
/// The AWS JSON 1.1 protocol (sso-admin, identitystore, cloudtrail): <c>POST /</c> with
/// <c>Content-Type: application/x-amz-json-1.1</c> and <c>X-Amz-Target: {prefix}.{Operation}</c>, signed with SigV4 by
/// AWSSDK.Core's signer (the target header is signed too, as the SDKs do). Errors are read from the body's
/// <c>__type</c> (namespace before <c>#</c> dropped) or the <c>x-amzn-ErrorType</c> header, and surface as
/// <see cref="IamException"/>, the deployment's one AWS error type, so the same jittered retry pipeline retries
/// throttling, conflicts and 5xx within its budget.
/// </summary>
public sealed class AwsJsonClient
{
    public const string ContentType = "application/x-amz-json-1.1";

    /// <summary>JSON answers of these services are pages of at most a hundred items; anything bigger is not theirs.</summary>
    private const int MaxResponseBytes = 8 * 1024 * 1024;

    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private readonly RegionEndpoint _region;
    private readonly string _signingService;
    private readonly string _targetPrefix;
    private readonly Func<CancellationToken, Task<ImmutableCredentials>> _credentials;
    private readonly ResiliencePipeline _retry;

    /// <param name="signingService">The SigV4 service name (<c>sso</c> for sso-admin, <c>identitystore</c>, <c>cloudtrail</c>).</param>
    /// <param name="targetPrefix">The X-Amz-Target prefix (<c>SWBExternalService</c>, <c>AWSIdentityStore</c>, ...).</param>
    public AwsJsonClient(HttpClient http, Uri endpoint, RegionEndpoint region, string signingService, string targetPrefix, Func<CancellationToken, Task<ImmutableCredentials>> credentials, ResiliencePipeline retry)
    {
        _http = http;
        _endpoint = endpoint;
        _region = region;
        _signingService = signingService;
        _targetPrefix = targetPrefix;
        _credentials = credentials;
        _retry = retry;
    }

    /// <summary>Calls one operation (retrying transient failures) and returns its JSON object answer.</summary>
    public async Task<JsonObject> CallAsync(string operation, JsonObject input, CancellationToken cancellationToken)
    {
        var body = Encoding.UTF8.GetBytes(input.ToJsonString());
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(IamQueryClient.ActionKey, operation);
        try
        {
            return await _retry.ExecuteAsync(static async (ctx, state) => await state.Client.SendOnceAsync(state.Operation, state.Body, ctx.CancellationToken), context, (Client: this, Operation: operation, Body: body));
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private async Task<JsonObject> SendOnceAsync(string operation, byte[] body, CancellationToken cancellationToken)
    {
        var target = $"{_targetPrefix}.{operation}";
        var credentials = await _credentials(cancellationToken);
        var signed = await AwsSigning.SignPostAsync(
            _endpoint,
            body,
            [new("Content-Type", ContentType), new("X-Amz-Target", target)],
            credentials,
            _region,
            _signingService,
            cancellationToken);

        using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint) { Content = new ByteArrayContent(body) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", ContentType);
        request.Headers.TryAddWithoutValidation("X-Amz-Target", target);
        foreach (var header in signed)
        {
            if (!header.Key.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)
                && !header.Key.Equals("X-Amz-Target", StringComparison.OrdinalIgnoreCase)
                && !header.Key.Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                request.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var text = await AwsResponses.ReadCappedAsync(response, MaxResponseBytes, cancellationToken);
        JsonObject? answer;
        try
        {
            answer = text.Length == 0 ? [] : JsonNode.Parse(text) as JsonObject;
        }
        catch (JsonException ex)
        {
            throw new IamException(
                (int)response.StatusCode >= 500 ? IamErrorCodes.ServiceFailure : "InvalidResponse",
                $"{operation} answered HTTP {(int)response.StatusCode} with a body that is not JSON.",
                response.StatusCode,
                inner: ex);
        }

        var requestId = response.Headers.TryGetValues("x-amzn-RequestId", out var ids) ? ids.FirstOrDefault() : null;
        if (!response.IsSuccessStatusCode)
        {
            var type = answer?["__type"]?.GetValue<string>()
                ?? (response.Headers.TryGetValues("x-amzn-ErrorType", out var types) ? types.FirstOrDefault() : null)
                ?? $"Http{(int)response.StatusCode}";
            var code = ErrorCode(type);
            var message = (answer?["Message"] ?? answer?["message"])?.GetValue<string>() ?? string.Empty;
            throw new IamException(code, message, response.StatusCode, requestId);
        }

        return answer ?? throw new IamException("InvalidResponse", $"{operation} answered with JSON that is not an object.", HttpStatusCode.BadGateway, requestId);
    }

    /// <summary><c>com.amazonaws.swbexternalservice#ThrottlingException:http://...</c> → <c>ThrottlingException</c>.</summary>
    internal static string ErrorCode(string type)
    {
        var code = type.Split(':')[0];
        var hash = code.LastIndexOf('#');
        return hash >= 0 ? code[(hash + 1)..] : code;
    }
}
