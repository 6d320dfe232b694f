using AccessWorkflows.Hosting;
using AccessWorkflows.Notifications;
using AccessWorkflows.Slack.Api;
using AccessWorkflows.Slack.Http;
using AccessWorkflows.Slack.Notifications;
using AccessWorkflows.Slack.Options;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Slack;

public static class SlackServiceCollectionExtensions
{
    /// <summary>
    /// Registers the Slack channel from <c>AccessWorkflows:Slack:*</c>: the <c>slack</c>
    /// <see cref="INotificationChannel"/>, the Web API client, the request verifier and the background worker that
    /// does what interactions ask after they are acknowledged. Registers nothing when <c>SigningSecret</c> or
    /// <c>BotToken</c> is missing. Needs from the host: <see cref="Requests.IAccessRequestCommands"/>,
    /// <see cref="Storage.IMessageRefStore"/>, and for autocomplete <see cref="Rules.AccessRules"/> (and optionally
    /// <see cref="Grants.IAccessCatalog"/>), unless the host registers its own <see cref="ISlackRequestChoices"/>.
    /// </summary>
    public static IServiceCollection AddSlack(this IServiceCollection services, IConfiguration configuration)
    {
        var options = new SlackOptions();
        configuration.GetSection(SlackOptions.Section).Bind(options);
        if (!options.IsEnabled)
        {
            return services;
        }

        services.AddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.AddHttpClient(nameof(SlackApiClient), c => c.Timeout = TimeSpan.FromSeconds(30));
        services.TryAddSingleton<ISlackApi>(sp => new SlackApiClient(
            sp.GetRequiredService<IHttpClientFactory>().CreateClient(nameof(SlackApiClient)),
            options,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<SlackApiClient>>()));
        services.TryAddSingleton<SlackUserDirectory>();
        services.TryAddSingleton<ISlackRequestChoices, RulesRequestChoices>();
        services.TryAddSingleton<AccessWorkflows.Grants.AccessOptions>();
        services.TryAddSingleton(sp => new SlackRequestVerifier(options.SigningSecret!, sp.GetRequiredService<TimeProvider>(), options.TimestampTolerance, options.MaxBodyBytes));
        services.TryAddSingleton<SlackWorkQueue>();
        services.TryAddSingleton<SlackHandlers>();
        services.AddHostedService<WorkQueueProcessor<SlackWorkQueue>>();
        services.TryAddSingleton<SlackNotificationChannel>();
        services.AddSingleton<INotificationChannel>(sp => sp.GetRequiredService<SlackNotificationChannel>());
        return services;
    }

    /// <summary>Maps <c>POST /api/slack/commands</c>, <c>/api/slack/interactions</c> and <c>/api/slack/options</c>
    /// (SPEC 8, 10). Maps nothing when Slack is not configured (the routes then answer 404).</summary>
    public static IEndpointRouteBuilder MapSlack(this IEndpointRouteBuilder endpoints)
    {
        if (endpoints.ServiceProvider.GetService<SlackOptions>() is not { IsEnabled: true })
        {
            return endpoints;
        }

        endpoints.MapPost("/api/slack/commands", (HttpContext c, SlackHandlers h) => h.CommandAsync(c)).DisableAntiforgery();
        endpoints.MapPost("/api/slack/interactions", (HttpContext c, SlackHandlers h) => h.InteractionAsync(c)).DisableAntiforgery();
        endpoints.MapPost("/api/slack/options", (HttpContext c, SlackHandlers h) => h.OptionsAsync(c)).DisableAntiforgery();
        return endpoints;
    }
}
