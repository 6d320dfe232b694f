using AccessWorkflows.Hosting;
using AccessWorkflows.Notifications;
using AccessWorkflows.Teams.Auth;
using AccessWorkflows.Teams.Bot;
using AccessWorkflows.Teams.Connector;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AccessWorkflows.Teams;

public static class TeamsServiceCollectionExtensions
{
    internal const string MetadataHttpClient = "teams-openid";
    internal const string LoginHttpClient = "teams-login";
    internal const string ConnectorHttpClient = "teams-connector";

    /// <summary>
    /// Binds <c>AccessWorkflows:Teams:*</c> and, when <c>AppId</c> is set, registers the Teams bot and the <c>teams</c>
    /// <see cref="INotificationChannel"/>. Without an AppId nothing is registered and <c>/api/teams/messages</c> answers 404.
    /// Needs from the host: IAccessRequestCommands, IRequestStore, IMessageRefStore, IConversationStore; optionally
    /// AccessOptions (the core autocomplete source) for the request form's choices.
    /// </summary>
    public static IServiceCollection AddTeams(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(TeamsOptions.SectionName);
        var options = section.Get<TeamsOptions>() ?? new TeamsOptions();
        services.Configure<TeamsOptions>(section);
        if (!options.Enabled)
        {
            return services;
        }

        var clientCredentials = !string.IsNullOrWhiteSpace(options.AppPassword);
        if (clientCredentials && string.IsNullOrWhiteSpace(options.TenantId))
        {
            throw new InvalidOperationException("AccessWorkflows:Teams:TenantId is required with AppPassword (single-tenant bot).");
        }

        if (!clientCredentials && string.IsNullOrWhiteSpace(options.ManagedIdentityClientId))
        {
            throw new InvalidOperationException("AccessWorkflows:Teams: set AppPassword and TenantId, or ManagedIdentityClientId, so the bot can send messages.");
        }

        services.AddHttpClient(MetadataHttpClient, c => c.Timeout = TimeSpan.FromSeconds(15));
        services.AddHttpClient(LoginHttpClient, c => c.Timeout = TimeSpan.FromSeconds(15));
        services.AddHttpClient(ConnectorHttpClient, c => c.Timeout = TimeSpan.FromSeconds(30));
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<BotTokenValidator>();
        services.AddSingleton<IBotTokenProvider>(sp => clientCredentials
            ? ActivatorUtilities.CreateInstance<ClientCredentialsBotTokenProvider>(sp, sp.GetRequiredService<TimeProvider>())
            : new TokenCredentialBotTokenProvider(
                TokenCredentialBotTokenProvider.ManagedIdentity(options.ManagedIdentityClientId!),
                sp.GetRequiredService<ILogger<TokenCredentialBotTokenProvider>>(),
                sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<IBotConnector, BotConnectorClient>();
        services.AddSingleton<ConversationDirectory>();
        services.TryAddSingleton<ITeamsRequestOptions, CoreRequestOptions>();
        services.AddSingleton<TeamsWorkQueue>();
        services.AddHostedService<WorkQueueProcessor<TeamsWorkQueue>>();
        services.AddSingleton<TeamsBot>();
        services.AddSingleton<TeamsNotificationChannel>();
        services.AddSingleton<INotificationChannel>(sp => sp.GetRequiredService<TeamsNotificationChannel>());
        return services;
    }

    /// <summary>Maps <c>POST /api/teams/messages</c> (SPEC 8). It authenticates callers itself (Bot Framework JWT), so it is
    /// exempt from the host's user authentication.</summary>
    public static IEndpointRouteBuilder MapTeams(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/api/teams/messages", async (HttpContext http) =>
        {
            var bot = http.RequestServices.GetService<TeamsBot>();
            if (bot is null)
            {
                http.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            await bot.HandleAsync(http);
        }).AllowAnonymous();
        return endpoints;
    }
}
