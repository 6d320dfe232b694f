using AccessWorkflows.Notifications;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AccessWorkflows.Webhook;

public static class WebhookServiceCollectionExtensions
{
    public const string DecisionsRoute = "/api/webhook/decisions";

    /// <summary>
    /// Binds <c>AccessWorkflows:Webhook:*</c>. With <c>Url</c> set, registers the <c>webhook</c>
    /// <see cref="INotificationChannel"/> (and then <c>Secret</c> is required: no event goes out unsigned); with
    /// <c>Secret</c> set, enables inbound decisions. Registers nothing when neither is set.
    /// </summary>
    public static IServiceCollection AddWebhook(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(WebhookOptions.SectionName);
        var url = section["Url"];
        var secret = section["Secret"];
        if (string.IsNullOrWhiteSpace(url) && string.IsNullOrWhiteSpace(secret))
        {
            return services;
        }

        services.AddOptions<WebhookOptions>()
            .Bind(section)
            .Validate(o => !string.IsNullOrEmpty(o.Secret) && o.Secret.Length >= WebhookOptions.MinSecretLength, $"AccessWorkflows:Webhook:Secret must be set, at least {WebhookOptions.MinSecretLength} characters, wherever the webhook is used.")
            .Validate(o => string.IsNullOrWhiteSpace(o.Url) || (Uri.TryCreate(o.Url, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttps || u.Scheme == Uri.UriSchemeHttp)), "AccessWorkflows:Webhook:Url must be an absolute http(s) URL.")
            .Validate(o => o.MaxBodyBytes is > 0 and <= 1024 * 1024 && o.SignatureTolerance > TimeSpan.Zero && o.DeliveryAttempts >= 1 && o.DeliveryTimeout > TimeSpan.Zero, "AccessWorkflows:Webhook limits must be positive.")
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        // Per request: the commands port may be scoped in the host.
        services.TryAddTransient<WebhookDecisionHandler>();

        if (!string.IsNullOrWhiteSpace(url))
        {
            // A signed body must go where it was addressed: redirects are not followed.
            services.AddHttpClient(WebhookNotificationChannel.HttpClientName, http => http.Timeout = Timeout.InfiniteTimeSpan)
                .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false });
            services.AddSingleton<WebhookNotificationChannel>();
            services.AddSingleton<INotificationChannel>(sp => sp.GetRequiredService<WebhookNotificationChannel>());
        }

        return services;
    }

    /// <summary>
    /// Maps <c>POST /api/webhook/decisions</c>. Anonymous to the host's caller authentication: the signature is the
    /// authentication. Answers 404 when inbound decisions are not configured.
    /// </summary>
    public static IEndpointRouteBuilder MapWebhook(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost(DecisionsRoute, (HttpContext context) =>
        {
            var handler = context.RequestServices.GetService<WebhookDecisionHandler>();
            if (handler is null)
            {
                return Results.Problem("Webhook decisions are not enabled (AccessWorkflows:Webhook:Secret is not set).", statusCode: StatusCodes.Status404NotFound, title: "Not found.")
                    .ExecuteAsync(context);
            }

            return handler.HandleAsync(context);
        })
        .AllowAnonymous()
        .WithName("WebhookDecisions");
        return endpoints;
    }
}
