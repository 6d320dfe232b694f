using System.Text.Json;
using AccessWorkflows.Aws.Policies;
using AccessWorkflows.Grants;

namespace AccessWorkflows.Aws.Tests;

public sealed class ResourcePolicyTests
{
    private static readonly ResourcePolicyGenerator Generator = new(AwsActionData.Shipped);

    private static Dictionary<string, List<string>> Generate(string document, string arn)
    {
        var policy = Generator.Generate(document, arn, "arn:aws:iam::aws:policy/Base");
        using var json = JsonDocument.Parse(policy.Document);
        Assert.Equal("2012-10-17", json.RootElement.GetProperty("Version").GetString());
        return json.RootElement.GetProperty("Statement").EnumerateArray().ToDictionary(
            s => s.GetProperty("Resource").GetString()!,
            s =>
            {
                Assert.Equal("Allow", s.GetProperty("Effect").GetString());
                return s.GetProperty("Action").EnumerateArray().Select(a => a.GetString()!).ToList();
            });
    }

    [Fact]
    public void S3_bucket_splits_bucket_level_and_object_level_actions()
    {
        var statements = Generate(Policies.S3ReadOnly, "arn:aws:s3:::p0-sensitive-data");

        Assert.Equal(["arn:aws:s3:::p0-sensitive-data", "arn:aws:s3:::p0-sensitive-data/*"], statements.Keys);
        var bucket = statements["arn:aws:s3:::p0-sensitive-data"];
        var objects = statements["arn:aws:s3:::p0-sensitive-data/*"];
        Assert.Contains("s3:ListBucket", bucket);
        Assert.Contains("s3:GetBucketLocation", bucket);
        Assert.DoesNotContain("s3:GetObject", bucket);
        Assert.Contains("s3:GetObject", objects);
        Assert.Contains("s3:GetObjectVersion", objects);
        Assert.DoesNotContain("s3:ListBucket", objects);
        Assert.All(bucket.Concat(objects), a => Assert.Matches(@"^s3:(Get|List)", a)); // nothing beyond Get*/List*
    }

    [Fact]
    public void S3_object_gets_object_actions_on_that_object_only()
    {
        var statements = Generate(Policies.S3ReadOnly, "arn:aws:s3:::reports/2026/q1.csv");

        var actions = Assert.Single(statements, s => s.Key == "arn:aws:s3:::reports/2026/q1.csv").Value;
        Assert.Single(statements);
        Assert.Contains("s3:GetObject", actions);
        Assert.DoesNotContain("s3:ListBucket", actions);
    }

    [Fact]
    public void DynamoDB_table_gets_the_matching_read_actions()
    {
        var actions = Assert.Single(Generate(Policies.ReadOnly, "arn:aws:dynamodb:us-east-1:444455556666:table/orders")).Value;

        Assert.Contains("dynamodb:DescribeTable", actions);
        Assert.Contains("dynamodb:GetItem", actions);
        Assert.Contains("dynamodb:Query", actions);
        Assert.DoesNotContain("dynamodb:PutItem", actions);
        Assert.DoesNotContain(actions, a => a.StartsWith("ec2:", StringComparison.Ordinal) || a.StartsWith("s3:", StringComparison.Ordinal));
    }

    [Fact]
    public void SQS_SNS_Lambda_each_get_only_their_own_service()
    {
        var sqs = Assert.Single(Generate(Policies.ReadOnly, "arn:aws:sqs:eu-west-1:444455556666:orders-queue")).Value;
        Assert.Equal(["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListDeadLetterSourceQueues", "sqs:ListMessageMoveTasks", "sqs:ListQueueTags"], sqs);

        var sns = Assert.Single(Generate(Policies.ReadOnly, "arn:aws:sns:us-east-1:444455556666:alerts")).Value;
        Assert.Equal(["sns:GetDataProtectionPolicy", "sns:GetTopicAttributes", "sns:ListSubscriptionsByTopic", "sns:ListTagsForResource"], sns);

        var lambda = Assert.Single(Generate(Policies.ReadOnly, "arn:aws:lambda:us-east-1:444455556666:function:resize")).Value;
        Assert.Contains("lambda:GetFunction", lambda);
        Assert.Contains("lambda:ListVersionsByFunction", lambda);
        Assert.DoesNotContain("lambda:InvokeFunction", lambda);
    }

    [Fact]
    public void KMS_and_Secrets_Manager_ignore_deny_statements_and_grant_no_more_than_allowed()
    {
        var kms = Assert.Single(Generate(Policies.ReadOnly, "arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab")).Value;
        Assert.Contains("kms:DescribeKey", kms);
        Assert.Contains("kms:GetKeyPolicy", kms);
        Assert.DoesNotContain("kms:Decrypt", kms); // never allowed (and denied) in the base

        var secret = Assert.Single(Generate(Policies.ReadOnly, "arn:aws:secretsmanager:us-east-1:444455556666:secret:prod/db-AbCdEf")).Value;
        Assert.Equal(["secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds"], secret);
    }

    [Fact]
    public void A_full_wildcard_expands_to_every_known_action_of_the_resource_type()
    {
        var actions = Assert.Single(Generate(Policies.Admin, "arn:aws:sqs:us-east-1:444455556666:q")).Value;

        var known = AwsActionData.Shipped.Get("sqs", "queue").Actions.Select(a => "sqs:" + a).Order(StringComparer.Ordinal);
        Assert.Equal(known, actions);
    }

    [Fact]
    public void Wildcards_match_action_names_case_insensitively_and_service_prefixes_exactly()
    {
        const string document = """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["SQS:send*","sqsx:*","s3:*"],"Resource":"*"}]}""";

        var actions = Assert.Single(Generate(document, "arn:aws:sqs:us-east-1:444455556666:q")).Value;
        Assert.Equal(["sqs:SendMessage"], actions);
    }

    [Fact]
    public void Conditional_NotAction_and_foreign_resource_statements_are_left_out()
    {
        const string document = """
            {"Version":"2012-10-17","Statement":[
              {"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}},
              {"Effect":"Allow","NotAction":"sqs:DeleteQueue","Resource":"*"},
              {"Effect":"Allow","Action":"sqs:PurgeQueue","Resource":"arn:aws:sqs:*:*:other-*"},
              {"Effect":"Allow","Action":"sqs:ReceiveMessage","Resource":["arn:aws:sqs:*:444455556666:orders*"]}
            ]}
            """;

        var actions = Assert.Single(Generate(document, "arn:aws:sqs:us-east-1:444455556666:orders")).Value;
        Assert.Equal(["sqs:ReceiveMessage"], actions);
    }

    [Fact]
    public void A_base_policy_that_yields_no_action_is_refused()
    {
        var ex = Assert.Throws<PermanentProvisioningException>(() => Generator.Generate(Policies.S3ReadOnly, "arn:aws:sqs:us-east-1:444455556666:q", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"));
        Assert.Contains("allows no action", ex.Message, StringComparison.Ordinal);

        const string denyOnly = """{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}""";
        Assert.Throws<PermanentProvisioningException>(() => Generator.Generate(denyOnly, "arn:aws:s3:::b", "arn:aws:iam::aws:policy/X"));
    }

    [Theory]
    [InlineData("arn:aws:ec2:us-east-1:444455556666:instance/i-123")]
    [InlineData("arn:aws:lambda:us-east-1:444455556666:layer:x")]
    [InlineData("arn:aws:s3:::bucket*")]
    [InlineData("arn:aws:sqs:us-east-1:444455556666:q\"}],\"Effect\":\"Allow")]
    public void Unknown_resource_types_and_malformed_arns_are_refused(string arn)
    {
        Assert.Throws<PermanentProvisioningException>(() => Generator.Generate(Policies.Admin, arn, "arn:aws:iam::aws:policy/AdministratorAccess"));
    }

    [Fact]
    public void The_document_holds_no_text_of_the_base_policy_beyond_known_action_names()
    {
        const string hostile = """{"Version":"2012-10-17","Statement":[{"Sid":"INJECTED","Effect":"Allow","Action":["sqs:Get*","sqs:GetQueueAttributes\",\"Resource\":\"*"],"Resource":"*"}]}""";

        var document = Generator.Generate(hostile, "arn:aws:sqs:us-east-1:444455556666:q", "arn:aws:iam::aws:policy/X").Document;

        Assert.DoesNotContain("INJECTED", document, StringComparison.Ordinal);
        Assert.DoesNotContain("\"*\"", document, StringComparison.Ordinal);
        Assert.Equal(["sqs:GetQueueAttributes", "sqs:GetQueueUrl"], Assert.Single(Generate(hostile, "arn:aws:sqs:us-east-1:444455556666:q")).Value);
    }

    [Fact]
    public void The_shipped_data_covers_the_required_services()
    {
        foreach (var (service, type) in new[] { ("s3", "bucket"), ("s3", "object"), ("dynamodb", "table"), ("sqs", "queue"), ("sns", "topic"), ("lambda", "function"), ("kms", "key"), ("secretsmanager", "Secret") })
        {
            Assert.NotEmpty(AwsActionData.Shipped.Get(service, type).Actions);
        }
    }
}
