using AccessWorkflows.Teams;
using AccessWorkflows.Webhook;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace AccessWorkflows.Functions.Hosting;

/// <summary>
/// The channel routes exactly as the integrations map them for the server (<c>MapTeams</c>, <c>MapWebhook</c>):
/// their handlers are internal to the integration, so the Functions app collects the endpoints those methods create
/// and invokes their request delegates. Same code path, same authentication, same answers as the server.
/// </summary>
public sealed class ChannelRoutes
{
    private readonly Lazy<IReadOnlyList<RouteEndpoint>> _endpoints;

    public ChannelRoutes(IServiceProvider services) => _endpoints = new(() =>
    {
        var collector = new EndpointCollector(services);
        collector.MapTeams();
        collector.MapWebhook();
        return [.. collector.DataSources.SelectMany(d => d.Endpoints).OfType<RouteEndpoint>()];
    });

    /// <summary>Runs the endpoint mapped at <paramref name="route"/> (e.g. <c>/api/teams/messages</c>); false when none is.</summary>
    public async Task<bool> TryInvokeAsync(string route, HttpContext http)
    {
        var endpoint = _endpoints.Value.FirstOrDefault(e => string.Equals(e.RoutePattern.RawText, route, StringComparison.OrdinalIgnoreCase));
        if (endpoint?.RequestDelegate is not { } handler)
        {
            return false;
        }

        http.SetEndpoint(endpoint);
        await handler(http);
        return true;
    }

    private sealed class EndpointCollector(IServiceProvider services) : IEndpointRouteBuilder
    {
        public IServiceProvider ServiceProvider => services;

        public ICollection<EndpointDataSource> DataSources { get; } = new List<EndpointDataSource>();

        public IApplicationBuilder CreateApplicationBuilder() => new ApplicationBuilder(services);
    }
}
