using AccessWorkflows.OnCall;
using AccessWorkflows.PagerDuty.Api;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AccessWorkflows.PagerDuty;

public static class PagerDutyServiceCollectionExtensions
{
    /// <summary>
    /// Registers the PagerDuty <see cref="IOnCallDirectory"/> when <c>AccessWorkflows:PagerDuty:ApiToken</c> is set
    /// (replacing any directory registered before); registers nothing otherwise, so the host's default (nobody on
    /// call) stays.
    /// </summary>
    public static IServiceCollection AddPagerDuty(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(PagerDutyOptions.SectionName);
        if (string.IsNullOrWhiteSpace(section["ApiToken"]))
        {
            return services;
        }

        services.AddOptions<PagerDutyOptions>()
            .Bind(section)
            .Validate(o => Uri.TryCreate(o.ApiBaseUrl, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttps || u.Scheme == Uri.UriSchemeHttp), "AccessWorkflows:PagerDuty:ApiBaseUrl must be an absolute http(s) URL.")
            .Validate(o => o.Timeout > TimeSpan.Zero && o.AttemptTimeout > TimeSpan.Zero, "AccessWorkflows:PagerDuty:Timeout and AttemptTimeout must be positive.")
            .ValidateOnStart();

        // Time-outs are the pipeline's, per attempt and per question; the HttpClient's own must not cut them short.
        services.AddHttpClient(PagerDutyApiClient.HttpClientName, http => http.Timeout = Timeout.InfiniteTimeSpan);
        services.AddSingleton<IPagerDutyApi, PagerDutyApiClient>();
        services.RemoveAll<IOnCallDirectory>();
        services.AddSingleton<IOnCallDirectory, PagerDutyOnCallDirectory>();
        return services;
    }
}
