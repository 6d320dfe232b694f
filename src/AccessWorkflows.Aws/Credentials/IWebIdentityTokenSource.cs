using Azure.Core;

namespace AccessWorkflows.Aws.Credentials;

/// <summary>An OIDC token proving this deployment's identity, for AssumeRoleWithWebIdentity.</summary>
public interface IWebIdentityTokenSource
{
    Task<string> GetTokenAsync(CancellationToken cancellationToken);
}

/// <summary>An Entra token of the Functions app's managed identity (or any Azure.Core credential).</summary>
public sealed class AzureWebIdentityTokenSource : IWebIdentityTokenSource
{
    private readonly TokenCredential _credential;
    private readonly string _scope;

    public AzureWebIdentityTokenSource(TokenCredential credential, string scope)
    {
        _credential = credential;
        _scope = scope;
    }

    public async Task<string> GetTokenAsync(CancellationToken cancellationToken)
    {
        var token = await _credential.GetTokenAsync(new TokenRequestContext([_scope]), cancellationToken);
        return token.Token;
    }
}
