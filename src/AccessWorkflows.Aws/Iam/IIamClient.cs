namespace AccessWorkflows.Aws.Iam;

/// <summary>
/// The IAM calls AccessWorkflows makes, for one account's credentials. Kept to the shape of AWSSDK.IdentityManagement
/// so that package can replace <see cref="IamQueryClient"/> here and nowhere else. Errors surface as
/// <see cref="IamException"/> with IAM's error code; transient ones (throttling, 5xx, network) are retried inside
/// the implementation within a bounded budget before they surface.
/// </summary>
public interface IIamClient
{
    Task<IamUser> GetUserAsync(string userName, CancellationToken cancellationToken = default);

    /// <param name="pathPrefix">Only users under this path; null: all.</param>
    Task<IamPage<IamUser>> ListUsersAsync(string? marker = null, string? pathPrefix = null, CancellationToken cancellationToken = default);

    Task<IamPage<IamTag>> ListUserTagsAsync(string userName, string? marker = null, CancellationToken cancellationToken = default);

    Task<IamPage<AttachedPolicy>> ListAttachedUserPoliciesAsync(string userName, string? marker = null, CancellationToken cancellationToken = default);

    Task<IamPage<IamGroup>> ListGroupsForUserAsync(string userName, string? marker = null, CancellationToken cancellationToken = default);

    Task AttachUserPolicyAsync(string userName, string policyArn, CancellationToken cancellationToken = default);

    Task DetachUserPolicyAsync(string userName, string policyArn, CancellationToken cancellationToken = default);

    Task AddUserToGroupAsync(string groupName, string userName, CancellationToken cancellationToken = default);

    Task RemoveUserFromGroupAsync(string groupName, string userName, CancellationToken cancellationToken = default);

    Task<ManagedPolicy> GetPolicyAsync(string policyArn, CancellationToken cancellationToken = default);

    /// <summary>The version with its document already URL-decoded (IAM returns it RFC 3986-encoded).</summary>
    Task<PolicyVersion> GetPolicyVersionAsync(string policyArn, string versionId, CancellationToken cancellationToken = default);

    /// <param name="scope">All, AWS or Local.</param>
    Task<IamPage<ManagedPolicy>> ListPoliciesAsync(string scope = "All", string? pathPrefix = null, string? marker = null, CancellationToken cancellationToken = default);

    Task<IamPage<IamGroup>> ListGroupsAsync(string? marker = null, CancellationToken cancellationToken = default);

    Task<ManagedPolicy> CreatePolicyAsync(string policyName, string path, string policyDocument, string? description, IReadOnlyList<IamTag> tags, CancellationToken cancellationToken = default);

    /// <summary>Adds a version (the default one when <paramref name="setAsDefault"/>); IAM keeps at most five.</summary>
    Task<PolicyVersion> CreatePolicyVersionAsync(string policyArn, string policyDocument, bool setAsDefault, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<PolicyVersion>> ListPolicyVersionsAsync(string policyArn, CancellationToken cancellationToken = default);

    Task DeletePolicyVersionAsync(string policyArn, string versionId, CancellationToken cancellationToken = default);

    Task DeletePolicyAsync(string policyArn, CancellationToken cancellationToken = default);

    /// <summary>The users a managed policy is attached to (reconciliation of generated policies).</summary>
    Task<IamPage<string>> ListUsersForPolicyAsync(string policyArn, string? marker = null, CancellationToken cancellationToken = default);
}

public sealed record IamUser(string UserName, string UserId, string Arn, string Path);

public sealed record IamTag(string Key, string Value);

public sealed record AttachedPolicy(string PolicyName, string PolicyArn);

public sealed record IamGroup(string GroupName, string GroupId, string Arn, string Path);

public sealed record ManagedPolicy(string PolicyName, string Arn, string Path, string? DefaultVersionId, int AttachmentCount, IReadOnlyList<IamTag> Tags);

/// <param name="Document">URL-decoded JSON; null in listings.</param>
public sealed record PolicyVersion(string VersionId, bool IsDefaultVersion, string? Document);

/// <summary>One page of a marker-paged IAM listing.</summary>
public sealed record IamPage<T>(IReadOnlyList<T> Items, bool IsTruncated, string? Marker);

/// <summary>Creates an <see cref="IIamClient"/> acting with one account's credentials.</summary>
public interface IIamClientFactory
{
    IIamClient For(Rules.AccountConfig account);
}

public static class IamClientExtensions
{
    /// <summary>Follows <c>Marker</c> until <c>IsTruncated</c> is false.</summary>
    public static async Task<List<T>> ListAllAsync<T>(Func<string?, Task<IamPage<T>>> page)
    {
        var all = new List<T>();
        string? marker = null;
        do
        {
            var next = await page(marker);
            all.AddRange(next.Items);
            marker = next.IsTruncated ? next.Marker : null;
        }
        while (marker is not null);
        return all;
    }
}
