//! Api key + version -> handler. The table below is the single source of truth: dispatch
//! consults it and the ApiVersions response is built from it, so what is advertised is exactly
//! what is implemented.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::buf::ByteBufMut;
use kafka_protocol::protocol::{Decodable, Encodable};

use crate::broker::error::ConnectionError;
use crate::broker::handlers;
use crate::broker::server::RequestContext;
use crate::broker::Broker;

/// What a handler produced.
pub enum Reply {
    /// The response is ready.
    Now(ResponseKind),
    /// The response waits for something (durability, data, a rebalance); awaited in order.
    Later(BoxFuture<'static, ResponseKind>),
    /// acks=0: no response at all.
    None,
    /// Close the connection (acks=0 failure: the only way to tell the producer).
    Close(ConnectionError),
}

pub type HandlerFn = fn(Arc<Broker>, RequestContext, RequestKind) -> BoxFuture<'static, Reply>;

/// One implemented API: the versions advertised and the handler.
pub struct ApiSpec {
    pub key: ApiKey,
    pub min: i16,
    pub max: i16,
    pub handler: HandlerFn,
}

/// Every API this broker implements. Ranges are chosen so librdkafka 2.x, kafka-python 2.x,
/// aiokafka and kafkajs 2.x all find a version they speak (see KAFKA-NOTES.md).
pub fn api_table() -> &'static [ApiSpec] {
    handlers::TABLE
}

pub fn spec(key: ApiKey) -> Option<&'static ApiSpec> {
    api_table().iter().find(|s| s.key == key)
}

/// The body version the codec can decode. kafka-python sends DescribeLogDirs v0, which the
/// codec does not know; v0 and v1 share one wire format.
fn codec_version(key: ApiKey, version: i16) -> i16 {
    if key == ApiKey::DescribeLogDirs && version == 0 {
        1
    } else {
        version
    }
}

/// The api key and version at the front of a frame.
pub fn peek_key(frame: &Bytes) -> Result<(ApiKey, i16), ConnectionError> {
    if frame.len() < 8 {
        return Err(ConnectionError::BadHeader(format!(
            "{}-byte frame is shorter than a request header",
            frame.len()
        )));
    }
    let raw_key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let key = ApiKey::try_from(raw_key).map_err(|_| ConnectionError::UnknownApiKey(raw_key))?;
    Ok((key, version))
}

/// Decodes the request header off the front of `frame` into the handlers' context.
pub fn decode_header(
    frame: &mut Bytes,
    key: ApiKey,
    version: i16,
    client_host: &str,
    listener: usize,
) -> Result<RequestContext, ConnectionError> {
    let header_version = key.request_header_version(codec_version(key, version));
    let header = RequestHeader::decode(frame, header_version).map_err(|e| ConnectionError::BadHeader(e.to_string()))?;
    Ok(RequestContext {
        api_key: key as i16,
        api_version: version,
        correlation_id: header.correlation_id,
        client_id: header.client_id.as_ref().map(|s| s.to_string()).unwrap_or_default(),
        client_host: client_host.to_string(),
        listener,
    })
}

/// Decodes one frame and runs its handler. `Err` closes the connection. `listener` is the
/// index of the listener the connection came in on.
pub async fn handle_frame(
    broker: &Arc<Broker>,
    mut frame: Bytes,
    client_host: &str,
    listener: usize,
) -> Result<(RequestContext, Reply), ConnectionError> {
    let (key, version) = peek_key(&frame)?;
    let Some(spec) = spec(key) else {
        return Err(ConnectionError::UnknownApiKey(key as i16));
    };
    let ctx = decode_header(&mut frame, key, version, client_host, listener)?;
    if version < spec.min || version > spec.max {
        if key == ApiKey::ApiVersions {
            // Kafka answers an ApiVersions it does not know with a v0 body carrying
            // UNSUPPORTED_VERSION and its ranges, so the client can retry lower.
            let mut ctx = ctx;
            ctx.api_version = 0;
            return Ok((
                ctx,
                Reply::Now(ResponseKind::ApiVersions(handlers::api_versions::response(35))),
            ));
        }
        // Kafka cannot parse a request of a version it does not support and closes the
        // connection (InvalidRequestException); clients pick versions from ApiVersions.
        return Err(ConnectionError::UnsupportedVersion {
            api: format!("{key:?}"),
            version,
            min: spec.min,
            max: spec.max,
        });
    }
    let request =
        RequestKind::decode(key, &mut frame, codec_version(key, version)).map_err(|e| ConnectionError::BadBody {
            api: format!("{key:?}"),
            version,
            reason: e.to_string(),
        })?;
    let reply = (spec.handler)(Arc::clone(broker), ctx.clone(), request).await;
    Ok((ctx, reply))
}

/// Encodes header and body of a response (without the length prefix).
pub fn encode_response<B: ByteBufMut>(
    ctx: &RequestContext,
    response: &ResponseKind,
    buf: &mut B,
) -> Result<(), ConnectionError> {
    let key = ApiKey::try_from(ctx.api_key).map_err(|_| ConnectionError::UnknownApiKey(ctx.api_key))?;
    let version = codec_version(key, ctx.api_version);
    let header_version = response.header_version(version);
    let mut header = ResponseHeader::default();
    header.correlation_id = ctx.correlation_id;
    header
        .encode(buf, header_version)
        .map_err(|e| ConnectionError::Encode(e.to_string()))?;
    response
        .encode(buf, version)
        .map_err(|e| ConnectionError::Encode(format!("{key:?} v{version}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use kafka_protocol::protocol::StrBytes;

    /// A fetch response encoded with its record batches kept by reference is byte for byte the
    /// plain encoding, at every Fetch version the broker speaks (compact and non-compact byte
    /// strings), and the large batches really are not copied.
    #[test]
    fn spliced_fetch_encoding_matches_the_plain_one() {
        use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
        use kafka_protocol::messages::FetchResponse;
        use kafka_protocol::protocol::buf::SplicedBuf;
        let spec = spec(ApiKey::Fetch).expect("fetch is implemented");
        let big = Bytes::from((0..100_000u32).map(|i| i as u8).collect::<Vec<u8>>());
        let small = Bytes::from_static(b"small batch bytes");
        for version in spec.min..=spec.max {
            let mut resp = FetchResponse::default();
            let mut topic = FetchableTopicResponse::default();
            if version < 13 {
                topic.topic = kafka_protocol::messages::TopicName(StrBytes::from_static_str("t"));
            }
            for (i, records) in [big.clone(), small.clone(), big.slice(10..50_000)]
                .into_iter()
                .enumerate()
            {
                let mut pd = PartitionData::default();
                pd.partition_index = i as i32;
                pd.high_watermark = 7;
                pd.records = Some(records);
                topic.partitions.push(pd);
            }
            resp.responses.push(topic);
            let ctx = RequestContext {
                api_key: ApiKey::Fetch as i16,
                api_version: version,
                correlation_id: 42,
                client_id: String::new(),
                client_host: String::new(),
                listener: 0,
            };
            let response = ResponseKind::Fetch(resp);
            let mut plain = BytesMut::new();
            encode_response(&ctx, &response, &mut plain).unwrap();
            let mut spliced = SplicedBuf::new(BytesMut::new());
            encode_response(&ctx, &response, &mut spliced).unwrap();
            assert_eq!(spliced.total_len(), plain.len(), "v{version}");
            assert_eq!(spliced.parts().concat(), &plain[..], "v{version}");
            let kept = spliced.parts().iter().filter(|p| p.as_ptr() == big.as_ptr()).count();
            assert_eq!(kept, 1, "v{version}: the large batch goes out from its own buffer");
        }
    }

    /// Bodies whose every count and length field claims far more than the frame holds: the
    /// non-flexible pattern reads as Int32/Int16 counts of 0x7fffffff/0x7fff, the flexible one
    /// as varint counts of 2^32-1. Decoding must fail (or succeed) without sizing anything from
    /// those counts: with the unpatched codec this test aborts the process on the first API.
    #[test]
    fn huge_wire_counts_fail_to_decode_without_allocating_them() {
        let patterns: [&[u8]; 3] = [
            &[0x7f, 0xff, 0xff, 0xff],
            &[0xff, 0xff, 0xff, 0xff, 0x0f],
            &[0x00, 0x7f, 0xff, 0xff, 0xff],
        ];
        let mut decoded = 0;
        for spec in api_table() {
            for version in spec.min..=spec.max {
                for p in patterns {
                    let mut body = Bytes::from(p.repeat(8));
                    let _ = RequestKind::decode(spec.key, &mut body, codec_version(spec.key, version));
                    decoded += 1;
                }
            }
        }
        assert!(decoded > 400, "every API at every version was tried: {decoded}");
    }
}
