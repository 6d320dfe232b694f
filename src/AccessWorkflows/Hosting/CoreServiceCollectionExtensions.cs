using AccessWorkflows.Grants;
using AccessWorkflows.Grants.Sandbox;
using AccessWorkflows.Http;
using AccessWorkflows.Notifications;
using AccessWorkflows.OnCall;
using AccessWorkflows.Requests;
using AccessWorkflows.Workflow;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace AccessWorkflows.Hosting;

/// <summary>
/// The services both hosts share (the server and the Functions app): the request commands, the workflow's
/// activities, grants, the sandbox, autocomplete and caller authentication. Each host adds its own store, its
/// durable engine and the integrations it enables, then calls these.
/// </summary>
public static class CoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers the core. Call it after the integrations: it only fills in what they did not register (no
    /// on-call directory → nobody is on call), and the in-process notification channel is always there.
    /// </summary>
    public static IServiceCollection AddAccessWorkflowsCore(this IServiceCollection services, IConfigurationSection section)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.Configure<WorkflowOptions>(section.GetSection("Workflow"));
        services.Configure<RateLimitOptions>(section.GetSection("RateLimit"));
        services.TryAddSingleton<IdentityRateLimiter>();
        services.Configure<BreakGlass.BreakGlassOptions>(section.GetSection("BreakGlass"));
        if (section.GetSection("Aws")["ActivityDelay"] is { Length: > 0 } activityDelay)
        {
            var delay = ParseIsoDuration(activityDelay, "AccessWorkflows:Aws:ActivityDelay");
            services.Configure<WorkflowOptions>(o => o.ActivityDelay = delay);
        }

        services.AddSingleton<RecordingNotificationChannel>();
        services.AddSingleton<INotificationChannel>(sp => sp.GetRequiredService<RecordingNotificationChannel>());
        services.TryAddSingleton<IOnCallDirectory, NoOnCallDirectory>();

        services.AddSingleton<SandboxProvisioner>();
        services.AddSingleton<IProvisionerResolver, ProvisionerResolver>();
        services.AddSingleton<GrantService>();
        services.AddSingleton<Grants.Reconciliation.GrantReconciler>();
        services.AddSingleton<AccessOptions>();
        services.AddSingleton<Grants.Activity.ActivityCollector>();
        services.AddSingleton<AccessWorkflowActivities>();
        services.AddSingleton<RefusalAuditWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<RefusalAuditWriter>());
        services.AddSingleton<RequestService>();
        services.AddSingleton<IAccessRequestCommands>(sp => sp.GetRequiredService<RequestService>());
        services.AddSingleton<BreakGlass.BreakGlassReminders>();
        return services;
    }

    /// <summary>An ISO 8601 duration of zero or more (PT0S, PT15M); anything else stops the host at start-up.</summary>
    private static TimeSpan ParseIsoDuration(string text, string key)
    {
        try
        {
            var value = System.Xml.XmlConvert.ToTimeSpan(text.Trim());
            if (value >= TimeSpan.Zero && value <= TimeSpan.FromDays(1))
            {
                return value;
            }
        }
        catch (FormatException)
        {
        }

        throw new InvalidOperationException($"{key} must be an ISO 8601 duration between PT0S and P1D, such as PT15M.");
    }

    /// <summary>
    /// Chooses how API callers authenticate (<c>AccessWorkflows:Auth:*</c>, SPEC 8) and refuses, at start-up, a
    /// configuration that is unsafe (Development mode outside the Development environment) or that could
    /// authenticate nobody (Jwt without an authority and an audience).
    /// </summary>
    public static IServiceCollection AddCallerAuthentication(this IServiceCollection services, IConfigurationSection authSection, IHostEnvironment environment)
    {
        services.Configure<AuthOptions>(authSection);
        var mode = authSection["Mode"] ?? AuthOptions.JwtMode;
        if (string.Equals(mode, AuthOptions.DevelopmentMode, StringComparison.OrdinalIgnoreCase))
        {
            if (!environment.IsDevelopment())
            {
                throw new InvalidOperationException("AccessWorkflows:Auth:Mode Development trusts the X-Dev-User header and is allowed only when the environment is Development.");
            }

            services.AddSingleton<ICallerAuthenticator, DevelopmentCallerAuthenticator>();
        }
        else if (string.Equals(mode, AuthOptions.JwtMode, StringComparison.OrdinalIgnoreCase))
        {
            if (string.IsNullOrWhiteSpace(authSection["Authority"]) || string.IsNullOrWhiteSpace(authSection["Audience"]))
            {
                throw new InvalidOperationException("AccessWorkflows:Auth:Mode is Jwt, so AccessWorkflows:Auth:Authority and AccessWorkflows:Auth:Audience must be set.");
            }

            services.AddSingleton<ICallerAuthenticator, JwtCallerAuthenticator>();
        }
        else
        {
            throw new InvalidOperationException($"AccessWorkflows:Auth:Mode must be Jwt or Development, not '{mode}'.");
        }

        return services;
    }
}
