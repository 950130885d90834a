/**
 * Frames and bodies copied from the test fixtures of Genesys's official
 * messenger transport SDK (github.com/MyPureCloud/genesys-messenger-transport-mobile-sdk),
 * with the Kotlin string templates filled in with the SDK's own test values.
 * The service must accept every shape the SDK accepts.
 */

/** transport/src/androidUnitTest/kotlin/transport/util/Response.kt */
export const RESPONSE_KT = {
  configureSuccess:
    '{"type":"response","class":"SessionResponse","code":200,"body":{"connected":true,"newSession":true,"readOnly":false,"maxCustomDataBytes":100,"allowedMedia":{"inbound":{"fileTypes":[{"type":"*/*"},{"type":"video/3gpp"}],"maxFileSizeKB":10240}},"blockedExtensions":[".ade",".adp"],"clearedExistingSession":false}}',
  configureSuccessWithNewSessionFalse:
    '{"type":"response","class":"SessionResponse","code":200,"body":{"connected":true,"newSession":false}}',
  webSocketRequestFailed: '{"type":"response","class":"string","code":400,"body":"Request failed."}',
  onMessage:
    '{"type":"message","class":"StructuredMessage","code":200,"body":{"text":"Hello world!","direction":"Inbound","id":"test_id","channel":{"time":"2022-08-22T19:24:26.704Z","messageId":"message_id"},"type":"Text"},"tracingId":"some_custom_message_id"}',
  onMessageWithAttachment:
    '{"type":"message","class":"StructuredMessage","code":200,"body":{"direction":"Outbound","id":"msg_id","channel":{"time":"some_time","type":"Private"},"type":"Text","text":"Hi","content":[{"attachment":{"id":"attachment_id","filename":"image.png","mediaType":"Image","fileSize":1,"mime":"image/png","url":"https://downloadurl.com"},"contentType":"Attachment"}],"originatingEntity":"Human"}}',
  onMessageWithQuickReplies:
    '{"type":"message","class":"StructuredMessage","code":200,"body":{"direction":"Outbound","id":"msg_id","channel":{"time":"some_time","type":"Private"},"type":"Structured","text":"Hi","content":[{"contentType":"QuickReply","quickReply":{"text":"text_a","payload":"payload_a","action":"action_a"}},{"contentType":"QuickReply","quickReply":{"text":"text_b","payload":"payload_b","action":"action_b"}}],"originatingEntity":"Bot"}}',
  onMessageWithDatePickerStructured:
    '{"type":"message","class":"StructuredMessage","code":200,"body":{"direction":"Outbound","id":"msg_id","originatingMessageId":"msg_id","channel":{"time":"some_time","type":"Private"},"type":"Structured","text":"Pick a time","content":[{"contentType":"DatePicker","datePicker":{"title":"Select a time slot","subtitle":"Choose an available time","imageUrl":"https://example.com/calendar.png","availableTimes":[{"duration":30,"dateTime":"2022-08-22T19:24:26.704Z"}]}}],"originatingEntity":"Bot"}}',
  onMessageWithPostbackCardReply:
    '{"type":"message","class":"StructuredMessage","code":200,"body":{"direction":"Outbound","id":"msg_id","channel":{"time":"some_time","type":"Private"},"type":"Structured","text":"You selected this card option","content":[{"contentType":"Card","card":{"title":"Title","description":"Description","image":"http://image.com/image.png","actions":[{"type":"Postback","text":"Select this option","payload":"postback_payload"}]}}],"originatingEntity":"Bot"}}',
  sessionExpiredEvent: '{"type": "response","class": "SessionExpiredEvent","code": 200,"body": {}}',
  tooManyRequests:
    '{"type":"response","class":"TooManyRequestsErrorMessage","code":429,"body":{"retryAfter":3,"errorCode":4029,"errorMessage":"Message rate too high for this session"}}',
  connectionClosedEventNoReason: '{"type":"message","class":"ConnectionClosedEvent","code":200,"body":{}}',
  connectionClosedEventReasonSignIn:
    '{"type":"message","class":"ConnectionClosedEvent","code":200,"body":{"reason":"signedIn"}}',
  logoutEvent: '{"type":"message","class":"LogoutEvent","code":200,"body":{}}',
  sessionClearedEvent: '{"type":"message","class":"SessionClearedEvent","code":200,"body":{}}',
  echo: '{"type":"response","class":"StructuredMessage","code":200,"body":{"text":"ping","type":"Text","direction":"Inbound","id":"echo_id"}, "tracingId":"SGVhbHRoQ2hlY2tNZXNzYWdlSWQ=" }',
  jwtResponse: '{"type":"response","class":"JwtResponse","code":200,"body":{"jwt":"some_jwt","exp":333}}',
  structuredMessageWithEvents:
    '{"type": "message","class": "StructuredMessage","code": 200,"body": {"direction": "Outbound","id": "0000000-0000-0000-0000-0000000000","channel": {"time": "2022-03-09T13:35:31.104Z","messageId": "0000000-0000-0000-0000-0000000000"},"type": "Event","metadata": {"correlationId":"0000000-0000-0000-0000-0000000000"},"events": [{"eventType": "Typing","typing": {"type": "Off","duration": 1000}},{"eventType": "Typing","typing": {"type": "On","duration": 5000}}]}}',
  /** Response.StructuredEvent.unknown, inside structuredMessageWithEvents. */
  unknownEvent: '{"eventType":"Fake","bloop":{"bip":"bop"}}',
};

/** transport/src/commonTest/kotlin/com/genesys/cloud/messenger/transport/network/TestWebMessagingApiResponses.kt */
export const MESSAGE_ENTITY_RESPONSE_WITH_3_MESSAGES =
  '{"entities":[{"id":"5befde6373a23f32f20b59b4e1cba0e6","channel":{"time":"2014-04-30T21:09:51.411Z"},"type":"Text","text":"\\uD83E\\uDD2A","content":[],"direction":"Outbound","originatingEntity":"Bot"},{"id":"46e7001c24abed05e9bcd1a006eb54b7","channel":{"time":null},"type":"Event","events":[{"eventType":"Presence","presence":{"type":"Join"}}],"text":"customer msg 7","content":[],"direction":"Inbound","originatingEntity":"Human"},{"text":"quick reply text","type":"Structured","direction":"Outbound","id":"message3_id","channel":{"time":null},"content":[{"contentType":"QuickReply","quickReply":{"text":"text_a","payload":"payload_a","action":"action_a"}},{"contentType":"QuickReply","quickReply":{"text":"text_b","payload":"payload_b","action":"action_b"}}],"originatingEntity":"Bot"}],"pageSize":25,"pageNumber":1, "total": 3, "pageCount": 1}';

/** Same file: messageEntityListResponseWithoutMessages. */
export const MESSAGE_ENTITY_LIST_WITHOUT_MESSAGES =
  '{"entities":[],"pageSize":0,"pageNumber":1, "total": 0, "pageCount": 0}';
