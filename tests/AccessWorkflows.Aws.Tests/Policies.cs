namespace AccessWorkflows.Aws.Tests;

/// <summary>Base policy documents shaped like the AWS managed ones.</summary>
public static class Policies
{
    public const string ReadOnlyArn = "arn:aws:iam::aws:policy/ReadOnlyAccess";
    public const string S3ReadOnlyArn = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess";
    public const string AdminArn = "arn:aws:iam::aws:policy/AdministratorAccess";

    public const string S3ReadOnly = """
        {
          "Version": "2012-10-17",
          "Statement": [
            { "Effect": "Allow", "Action": ["s3:Get*", "s3:List*", "s3-object-lambda:Get*", "s3-object-lambda:List*"], "Resource": "*" }
          ]
        }
        """;

    public const string Admin = """{ "Version": "2012-10-17", "Statement": [ { "Effect": "Allow", "Action": "*", "Resource": "*" } ] }""";

    public const string ReadOnly = """
        {
          "Version": "2012-10-17",
          "Statement": [
            { "Sid": "Read", "Effect": "Allow", "Action": ["dynamodb:Describe*", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "sqs:Get*", "sqs:List*", "sns:Get*", "sns:List*", "lambda:Get*", "lambda:List*", "kms:Describe*", "kms:Get*", "kms:List*", "secretsmanager:Describe*", "secretsmanager:List*", "s3:Get*", "s3:List*", "ec2:Describe*"], "Resource": "*" },
            { "Sid": "NoSecrets", "Effect": "Deny", "Action": ["secretsmanager:GetSecretValue", "kms:Decrypt"], "Resource": "*" }
          ]
        }
        """;
}
