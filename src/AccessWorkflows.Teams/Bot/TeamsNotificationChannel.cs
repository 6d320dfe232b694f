using System.Text.Json;
using System.Text.Json.Nodes;
using AccessWorkflows.Notifications;
using AccessWorkflows.Requests;
using AccessWorkflows.Storage;
using AccessWorkflows.Teams.Cards;
using AccessWorkflows.Teams.Connector;
using Microsoft.Extensions.Logging;

namespace AccessWorkflows.Teams.Bot;

/// <summary>
/// The <c>teams</c> notification channel: approval cards posted to each notified level's Teams channel, the requester's
/// card in their 1:1 chat, and every later notification replacing those cards in place (UpdateActivity). Idempotent
/// per <see cref="Notification.Id"/>: each post is recorded as done once its message ref is saved, so a re-run
/// activity posts nothing twice and only repeats the (idempotent) in-place updates.
/// </summary>
internal sealed class TeamsNotificationChannel : INotificationChannel
{
    public const string ApprovalKind = "approval";
    public const string RequesterKind = "requester";
    public const string ActiveKind = "requester-active";

    private readonly IBotConnector _connector;
    private readonly ConversationDirectory _directory;
    private readonly IMessageRefStore _refs;
    private readonly ILogger<TeamsNotificationChannel> _logger;

    public TeamsNotificationChannel(IBotConnector connector, ConversationDirectory directory, IMessageRefStore refs, ILogger<TeamsNotificationChannel> logger)
    {
        _connector = connector;
        _directory = directory;
        _refs = refs;
        _logger = logger;
    }

    public string Name => Channels.Teams;

    /// <summary>Where a message lives: the connector's serviceUrl and the conversation id, as JSON.</summary>
    public static string Address(string serviceUrl, string conversationId) =>
        new JsonObject { ["serviceUrl"] = serviceUrl, ["conversationId"] = conversationId }.ToJsonString();

    /// <summary>Teams user ids of the approvers the bot knows, for the card's <c>refresh.userIds</c>.</summary>
    public static async Task<IReadOnlyList<string>> ApproverUserIdsAsync(ConversationDirectory directory, AccessRequest request, CancellationToken cancellationToken)
    {
        var ids = new List<string>();
        foreach (var email in request.Approval.Levels.Where(l => l.Level <= Math.Max(1, request.ApprovalLevel)).SelectMany(l => l.Approvers).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (await directory.GetAsync(ConversationDirectory.EmailKey(email), cancellationToken) is { UserId: { } id })
            {
                ids.Add(id);
            }
        }

        return ids;
    }

    public async Task DeliverAsync(Notification notification, CancellationToken cancellationToken = default)
    {
        var doneKey = $"teams:{notification.Id}";
        if (await _refs.IsDoneAsync(doneKey, cancellationToken))
        {
            return;
        }

        var request = notification.Request;
        var posted = new HashSet<string>(StringComparer.Ordinal);
        switch (notification.Kind)
        {
            case NotificationKind.ApprovalRequested:
                var level = request.Approval.Levels.FirstOrDefault(l => l.Level == notification.Level);
                if (level?.TeamsChannel is { Length: > 0 } channel)
                {
                    await PostApprovalAsync(notification, request, channel, posted, cancellationToken);
                }

                foreach (var email in level?.OnCallApprovers ?? [])
                {
                    await PromptOnCallAsync(notification, request, email, posted, cancellationToken);
                }

                break;
            case NotificationKind.Received:
                await PostToRequesterAsync(notification, request, RequesterKind, TeamsCards.Requester(request), posted, cancellationToken);
                break;
            case NotificationKind.Active:
                await PostToRequesterAsync(notification, request, ActiveKind, TeamsCards.Requester(request), posted, cancellationToken);
                break;
            case NotificationKind.ExpiryReminder:
                await PostToRequesterAsync(notification, request, null, TeamsCards.Reminder(request), posted, cancellationToken);
                break;
            case NotificationKind.BreakGlass:
            case NotificationKind.BreakGlassUnreviewed:
                // An alert, not a state change: the cards already show the flag through the Approved update.
                await AlertAsync(notification, request, cancellationToken);
                await _refs.MarkDoneAsync(doneKey, cancellationToken);
                Log.Delivered(_logger, notification.Id, notification.Kind, request.Id);
                return;
            case NotificationKind.Denied:
            case NotificationKind.TimedOut:
            case NotificationKind.Ended:
            case NotificationKind.Failed:
                await PostToRequesterAsync(notification, request, null, TeamsCards.Requester(request), posted, cancellationToken);
                break;
        }

        await UpdateAllAsync(request, posted, cancellationToken);
        await _refs.MarkDoneAsync(doneKey, cancellationToken);
        Log.Delivered(_logger, notification.Id, notification.Kind, request.Id);
    }

    private async Task PostApprovalAsync(Notification n, AccessRequest request, string channel, HashSet<string> posted, CancellationToken cancellationToken)
    {
        var postKey = $"teams:{n.Id}:post:{channel}";
        if (await _refs.IsDoneAsync(postKey, cancellationToken))
        {
            return;
        }

        var target = await _directory.GetAsync(ConversationDirectory.ChannelKey(channel), cancellationToken);
        if (target?.ConversationId is null)
        {
            Log.NoReference(_logger, ConversationDirectory.ChannelKey(channel), request.Id);
            return;
        }

        var refreshIds = await ApproverUserIdsAsync(_directory, request, cancellationToken);
        var card = TeamsCards.Approval(request, withActions: true, refreshIds);
        var activityId = await _connector.SendAsync(target.ServiceUrl, target.ConversationId, TeamsCards.Message(card), cancellationToken);
        await _refs.SaveAsync(new MessageRef(request.Id, Channels.Teams, channel, ApprovalKind, Address(target.ServiceUrl, target.ConversationId), activityId), cancellationToken);
        await _refs.MarkDoneAsync(postKey, cancellationToken);
        posted.Add(activityId);
    }

    /// <summary>
    /// The break-glass alert card: a new message in every level's Teams channel and the rule's
    /// <c>breakGlass.notify.teamsChannel</c>, and in the 1:1 chat of every approver and admin the bot has a reference
    /// for (people who never installed the bot cannot be messaged first). Each target is recorded as done once sent.
    /// </summary>
    private async Task AlertAsync(Notification n, AccessRequest request, CancellationToken cancellationToken)
    {
        // A fresh card per send: JSON nodes belong to the activity they were sent in.
        JsonObject Card() => TeamsCards.Message(TeamsCards.BreakGlassAlert(request, n.Kind == NotificationKind.BreakGlassUnreviewed));
        var plan = request.Approval;
        var channels = plan.Levels.Select(l => l.TeamsChannel).Append(plan.BreakGlass?.TeamsChannel)
            .OfType<string>().Where(c => c.Length > 0).Distinct(StringComparer.Ordinal);
        foreach (var channel in channels)
        {
            var key = $"teams:{n.Id}:alert:{channel}";
            if (await _refs.IsDoneAsync(key, cancellationToken))
            {
                continue;
            }

            if (await _directory.GetAsync(ConversationDirectory.ChannelKey(channel), cancellationToken) is not { ConversationId: { } conversationId } target)
            {
                Log.NoReference(_logger, ConversationDirectory.ChannelKey(channel), request.Id);
                continue;
            }

            await _connector.SendAsync(target.ServiceUrl, conversationId, Card(), cancellationToken);
            await _refs.MarkDoneAsync(key, cancellationToken);
        }

        foreach (var email in plan.BreakGlass?.Alerted ?? [])
        {
            var key = $"teams:{n.Id}:alert:{email}";
            if (await _refs.IsDoneAsync(key, cancellationToken))
            {
                continue;
            }

            if (await _directory.PersonalChatAsync(email, cancellationToken) is not { } chat)
            {
                Log.NoReference(_logger, "email:<approver or admin>", request.Id);
                continue;
            }

            await _connector.SendAsync(chat.ServiceUrl, chat.ConversationId, Card(), cancellationToken);
            await _refs.MarkDoneAsync(key, cancellationToken);
        }
    }

    /// <summary>A PagerDuty on-call responder of the notified level gets the approval card in their 1:1 chat (when the
    /// bot has one with them), kept current like a channel's card.</summary>
    private async Task PromptOnCallAsync(Notification n, AccessRequest request, string email, HashSet<string> posted, CancellationToken cancellationToken)
    {
        var postKey = $"teams:{n.Id}:oncall:{email}";
        if (await _refs.IsDoneAsync(postKey, cancellationToken))
        {
            return;
        }

        if (await _directory.PersonalChatAsync(email, cancellationToken) is not { } chat)
        {
            Log.NoReference(_logger, "email:<on-call responder>", request.Id);
            return;
        }

        var refreshIds = await ApproverUserIdsAsync(_directory, request, cancellationToken);
        var activityId = await _connector.SendAsync(chat.ServiceUrl, chat.ConversationId, TeamsCards.Message(TeamsCards.Approval(request, withActions: true, refreshIds)), cancellationToken);
        await _refs.SaveAsync(new MessageRef(request.Id, Channels.Teams, email, ApprovalKind, Address(chat.ServiceUrl, chat.ConversationId), activityId), cancellationToken);
        await _refs.MarkDoneAsync(postKey, cancellationToken);
        posted.Add(activityId);
    }

    /// <summary>Posts a card in the requester's 1:1 chat (created if needed). With a <paramref name="kind"/>, the message
    /// is remembered and replaced on every later change; an existing message of that kind is updated instead.</summary>
    private async Task PostToRequesterAsync(Notification n, AccessRequest request, string? kind, JsonObject card, HashSet<string> posted, CancellationToken cancellationToken)
    {
        var postKey = $"teams:{n.Id}:requester";
        if (await _refs.IsDoneAsync(postKey, cancellationToken))
        {
            return;
        }

        if (kind is not null)
        {
            var existing = (await _refs.ListAsync(request.Id, Channels.Teams, cancellationToken)).FirstOrDefault(r => r.Kind == kind);
            if (existing is not null)
            {
                // E.g. the request form the request was made from: it already is the requester's card.
                return;
            }
        }

        var chat = await _directory.PersonalChatAsync(request.Requester, cancellationToken);
        if (chat is not { } target)
        {
            Log.NoReference(_logger, "email:<requester>", request.Id);
            return;
        }

        var activityId = await _connector.SendAsync(target.ServiceUrl, target.ConversationId, TeamsCards.Message(card), cancellationToken);
        if (kind is not null)
        {
            await _refs.SaveAsync(new MessageRef(request.Id, Channels.Teams, request.Requester, kind, Address(target.ServiceUrl, target.ConversationId), activityId), cancellationToken);
        }

        await _refs.MarkDoneAsync(postKey, cancellationToken);
        posted.Add(activityId);
    }

    /// <summary>Replaces every card of <paramref name="request"/> with it as it stands, outside any notification: when a
    /// click was answered with an outcome the command then did not confirm.</summary>
    public Task RefreshAsync(AccessRequest request, CancellationToken cancellationToken) =>
        UpdateAllAsync(request, [], cancellationToken);

    /// <summary>Replaces every card of the request with its current state. All are attempted; the first failure is
    /// rethrown afterwards so the activity is retried (updates are idempotent).</summary>
    private async Task UpdateAllAsync(AccessRequest request, HashSet<string> skip, CancellationToken cancellationToken)
    {
        var refs = await _refs.ListAsync(request.Id, Channels.Teams, cancellationToken);
        if (refs.Count == 0)
        {
            return;
        }

        var refreshIds = await ApproverUserIdsAsync(_directory, request, cancellationToken);
        Exception? failure = null;
        foreach (var messageRef in refs.Where(r => !skip.Contains(r.MessageId)))
        {
            if (!TryParseAddress(messageRef.Address, out var serviceUrl, out var conversationId))
            {
                continue;
            }

            var card = messageRef.Kind == ApprovalKind
                ? TeamsCards.Approval(request, withActions: true, refreshIds)
                : TeamsCards.Requester(request);
            try
            {
                await _connector.UpdateAsync(serviceUrl, conversationId, messageRef.MessageId, TeamsCards.Message(card, messageRef.MessageId), cancellationToken);
            }
            catch (HttpRequestException e) when (e.StatusCode is System.Net.HttpStatusCode.NotFound)
            {
                // The message was deleted in Teams: nothing left to update.
            }
            catch (HttpRequestException e)
            {
                failure ??= e;
            }
        }

        if (failure is not null)
        {
            throw failure;
        }
    }

    private static bool TryParseAddress(string address, out string serviceUrl, out string conversationId)
    {
        serviceUrl = conversationId = string.Empty;
        try
        {
            var node = JsonNode.Parse(address);
            serviceUrl = JsonText.String(JsonText.Node(node, "serviceUrl")) ?? string.Empty;
            conversationId = JsonText.String(JsonText.Node(node, "conversationId")) ?? string.Empty;
            return serviceUrl.Length > 0 && conversationId.Length > 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
