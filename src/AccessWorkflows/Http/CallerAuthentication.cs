using System.Security.Claims;
using AccessWorkflows.Requests;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace AccessWorkflows.Http;

/// <summary><c>AccessWorkflows:Auth:*</c> (SPEC 8).</summary>
public sealed class AuthOptions
{
    public const string JwtMode = "Jwt";
    public const string DevelopmentMode = "Development";

    /// <summary><c>Jwt</c> (default) or <c>Development</c>.</summary>
    public string Mode { get; set; } = JwtMode;

    /// <summary>The OpenID issuer whose metadata (<c>/.well-known/openid-configuration</c>) signs the tokens.</summary>
    public string? Authority { get; set; }

    public string? Audience { get; set; }

    /// <summary>Allow plain-HTTP metadata (tests and local identity providers only).</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>
    /// <c>AccessWorkflows:Auth:ClientId</c>: the public client (no secret) the page at <c>/</c> signs people in as, with
    /// the authorization code flow and PKCE against <see cref="Authority"/>. Without it a Jwt server's page cannot
    /// sign anyone in (API callers with their own tokens are unaffected). The authority must list the page's address
    /// (<c>https://host/</c>) as a redirect URI of this client and answer its token endpoint to that origin (CORS).
    /// </summary>
    public string? ClientId { get; set; }

    /// <summary>
    /// <c>AccessWorkflows:Auth:Scopes</c>: what the page asks for, space-separated. It must include <c>openid</c> and
    /// yield an access token whose audience is <see cref="Audience"/> (on Entra ID: <c>openid email api://…/.default</c>).
    /// </summary>
    public string Scopes { get; set; } = "openid email profile";
}

/// <summary>Who is calling the API: an authenticated, lower-case email.</summary>
public sealed record Caller(string Email);

/// <summary>Authenticates API callers. Returns null when the caller is not authenticated (→ 401).</summary>
public interface ICallerAuthenticator
{
    Task<Caller?> AuthenticateAsync(HttpRequest request, CancellationToken cancellationToken = default);
}

/// <summary>
/// <c>Development</c> mode: trusts the <c>X-Dev-User</c> header. Anyone can claim to be anyone, so hosts allow it
/// only in the Development environment and warn at start-up.
/// </summary>
public sealed class DevelopmentCallerAuthenticator : ICallerAuthenticator
{
    public const string Header = "X-Dev-User";

    public Task<Caller?> AuthenticateAsync(HttpRequest request, CancellationToken cancellationToken = default)
    {
        var value = request.Headers[Header].ToString().Trim();
        return Task.FromResult(Grammar.IsEmail(value) ? new Caller(Grammar.NormalizeEmail(value)) : null);
    }
}

/// <summary>
/// <c>Jwt</c> mode: a bearer token signed by a key of the authority's OpenID metadata, issued by it, for the
/// configured audience, within its lifetime; the email comes from <c>email</c>, <c>preferred_username</c> or <c>upn</c>.
/// </summary>
public sealed partial class JwtCallerAuthenticator : ICallerAuthenticator
{
    private readonly AuthOptions _options;
    private readonly OpenIdMetadataSource _metadata;
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private readonly ILogger<JwtCallerAuthenticator> _logger;

    public JwtCallerAuthenticator(IOptions<AuthOptions> options, ILogger<JwtCallerAuthenticator> logger)
    {
        _options = options.Value;
        _logger = logger;
        if (string.IsNullOrWhiteSpace(_options.Authority) || string.IsNullOrWhiteSpace(_options.Audience))
        {
            throw new InvalidOperationException("AccessWorkflows:Auth:Mode is Jwt, so AccessWorkflows:Auth:Authority and AccessWorkflows:Auth:Audience must be set.");
        }

        var metadataUrl = _options.Authority.TrimEnd('/') + "/.well-known/openid-configuration";
        _metadata = new OpenIdMetadataSource(metadataUrl, new HttpDocumentRetriever { RequireHttps = _options.RequireHttpsMetadata }, logger);
    }

    public async Task<Caller?> AuthenticateAsync(HttpRequest request, CancellationToken cancellationToken = default)
    {
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var token = header["Bearer ".Length..].Trim();
        JsonWebToken jwt;
        try
        {
            jwt = _handler.ReadJsonWebToken(token);
        }
        catch (ArgumentException)
        {
            LogRejected(_logger, "malformed token");
            return null;
        }

        // Keys rotate: a key id the cache does not know makes the source fetch the metadata again.
        var configuration = await _metadata.ForKeyAsync(jwt.Kid, cancellationToken);
        var result = await _handler.ValidateTokenAsync(jwt, new TokenValidationParameters
        {
            ValidIssuer = configuration.Issuer,
            ValidAudience = _options.Audience,
            IssuerSigningKeys = configuration.SigningKeys,
            ValidateIssuer = true,
            ValidateAudience = true,
            ValidateLifetime = true,
            ValidateIssuerSigningKey = true,
            RequireSignedTokens = true,
            ClockSkew = TimeSpan.FromMinutes(5),
        });
        if (!result.IsValid)
        {
            LogRejected(_logger, result.Exception?.GetType().Name ?? "invalid");
            return null;
        }

        var identity = result.ClaimsIdentity;
        var email = new[] { "email", "preferred_username", "upn" }
            .Select(type => identity.FindFirst(type)?.Value)
            .FirstOrDefault(Grammar.IsEmail);
        return email is null ? null : new Caller(Grammar.NormalizeEmail(email));
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Bearer token rejected: {Reason}")]
    private static partial void LogRejected(ILogger logger, string reason);
}
