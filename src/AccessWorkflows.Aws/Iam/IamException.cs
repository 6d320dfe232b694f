using System.Net;

namespace AccessWorkflows.Aws.Iam;

/// <summary>An error answer of an AWS API the deployment calls: IAM or STS (the XML <c>&lt;Error&gt;&lt;Code&gt;</c>), or
/// sso-admin, identitystore and cloudtrail (the JSON <c>__type</c>), with the HTTP status.</summary>
public sealed class IamException : Exception
{
    public IamException(string code, string message, HttpStatusCode statusCode, string? requestId = null, Exception? inner = null)
        : base($"{code}: {message}", inner)
    {
        Code = code;
        StatusCode = statusCode;
        RequestId = requestId;
        ServiceMessage = message;
    }

    public string Code { get; }

    /// <summary>IAM's own message; may name the entity, never holds credentials.</summary>
    public string ServiceMessage { get; }

    public HttpStatusCode StatusCode { get; }

    public string? RequestId { get; }

    public bool IsNoSuchEntity => Code == IamErrorCodes.NoSuchEntity;

    public bool IsEntityAlreadyExists => Code == IamErrorCodes.EntityAlreadyExists;

    /// <summary>Worth retrying: throttling, concurrent modification and server-side failures.</summary>
    public bool IsTransient =>
        (int)StatusCode >= 500
        || Code is IamErrorCodes.Throttling or IamErrorCodes.ThrottlingException or IamErrorCodes.RequestLimitExceeded
            or IamErrorCodes.ServiceFailure or IamErrorCodes.ServiceUnavailable or IamErrorCodes.InternalFailure
            or IamErrorCodes.ConcurrentModification or IamErrorCodes.ConflictException or IamErrorCodes.InternalServerException;
}

public static class IamErrorCodes
{
    public const string NoSuchEntity = "NoSuchEntity";
    public const string EntityAlreadyExists = "EntityAlreadyExists";
    public const string LimitExceeded = "LimitExceeded";
    public const string DeleteConflict = "DeleteConflict";
    public const string MalformedPolicyDocument = "MalformedPolicyDocument";
    public const string InvalidInput = "InvalidInput";
    public const string Throttling = "Throttling";
    public const string ThrottlingException = "ThrottlingException";
    public const string RequestLimitExceeded = "RequestLimitExceeded";
    public const string ServiceFailure = "ServiceFailure";
    public const string ServiceUnavailable = "ServiceUnavailable";
    public const string InternalFailure = "InternalFailure";
    public const string ConcurrentModification = "ConcurrentModification";
    public const string AccessDenied = "AccessDenied";

    /// <summary>Identity Center: another operation on the same assignment or permission set is in progress.</summary>
    public const string ConflictException = "ConflictException";
    public const string InternalServerException = "InternalServerException";
    public const string ResourceNotFoundException = "ResourceNotFoundException";
    public const string AccessDeniedException = "AccessDeniedException";
}
