using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AccessWorkflows.Cli;

/// <summary>One command's calls to the server: authentication headers, problem+json refusals, unreachable servers.</summary>
internal sealed class ApiCaller(CliContext context, string server, string? token, string? user, Renderer renderer)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public Task<int> SendAsync(HttpMethod method, string path, JsonObject? body, CancellationToken cancellationToken) =>
        CallAsync(method, path, body, renderer.RequestAsync, cancellationToken);

    public Task<int> ShowAsync(string path, CancellationToken cancellationToken) =>
        CallAsync(HttpMethod.Get, path, null, renderer.DetailAsync, cancellationToken);

    public Task<int> ListAsync(string path, CancellationToken cancellationToken) =>
        CallAsync(HttpMethod.Get, path, null, renderer.ListAsync, cancellationToken);

    public Task<int> AuditAsync(string path, CancellationToken cancellationToken) =>
        CallAsync(HttpMethod.Get, path, null, renderer.AuditAsync, cancellationToken);

    private async Task<int> CallAsync(HttpMethod method, string path, JsonObject? body, Func<JsonObject, Task> render, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(server.TrimEnd('/') + "/", UriKind.Absolute, out var baseAddress) || baseAddress.Scheme is not ("http" or "https"))
        {
            await context.Error.WriteLineAsync($"--server '{server}' is not an http(s) URL.");
            return CliApp.UsageError;
        }

        using var http = new HttpClient(context.Handler, disposeHandler: false) { BaseAddress = baseAddress };
        using var request = new HttpRequestMessage(method, path);
        if (token is { Length: > 0 })
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        else if (user is { Length: > 0 })
        {
            request.Headers.Add("X-Dev-User", user);
        }

        if (body is not null)
        {
            request.Content = JsonContent.Create(body, options: Json);
        }

        try
        {
            using var response = await http.SendAsync(request, cancellationToken);
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                await context.Error.WriteLineAsync(Problem(response, text));
                return CliApp.Refused;
            }

            await render(JsonNode.Parse(text)!.AsObject());
            return 0;
        }
        catch (HttpRequestException ex)
        {
            await context.Error.WriteLineAsync($"Could not reach {baseAddress}: {ex.Message}");
            return CliApp.Refused;
        }
    }

    /// <summary>The server's problem (RFC 7807): status, its detail and any field errors.</summary>
    private static string Problem(HttpResponseMessage response, string text)
    {
        var message = $"{(int)response.StatusCode} {response.ReasonPhrase}";
        try
        {
            if (JsonNode.Parse(text) is JsonObject problem)
            {
                message += $": {problem["detail"] ?? problem["title"]}";
                if (problem["errors"] is JsonObject errors)
                {
                    message += string.Concat(errors.Select(e => $"\n  {e.Key}: {(e.Value is JsonArray a ? string.Join("; ", a.Select(v => v?.ToString())) : e.Value?.ToString())}"));
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON (a proxy's error page): the status line says enough.
        }

        return message;
    }
}
