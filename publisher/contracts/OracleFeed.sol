// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {FeedBase} from "FeedBase.sol";

/// @title OracleFeed: one price feed fed by a quorum of EIP-712-signed observations.
/// @notice Readers use Chainlink's AggregatorV3Interface (decimals, description, version,
/// getRoundData, latestRoundData). Anyone may relay a report; authority comes from the
/// signatures, every one of which is verified here (no optimistic shortcut), never from
/// msg.sender.
///
/// Invariants of an accepted report (checked in `fallback`: a report is the raw calldata):
/// - at least `quorum` observations, each signed by a distinct member of the signer set;
/// - values sorted ascending (non-decreasing), so the median is read at the middle index;
/// - every timestamp strictly newer than the newest observation of every earlier accepted
///   report (`latestObservationTimestamp`), which makes every signature single-use, and not
///   more than MAX_FUTURE_DRIFT seconds ahead of block.timestamp;
/// - low-s signatures only (EIP-2), in EIP-2098 compact form (r, vs);
/// - `base` is the timestamp of some observation (the oldest: offsets are unsigned).
///
/// Gas design (see README, "Contract and gas"): the signer set is committed in storage as one
/// 160-bit hash. A report names, for each observation, its signer's position in the set; the
/// contract puts each RECOVERED address at that position and takes the members that did not
/// sign from calldata, then hashes the whole set and compares it with the commitment. A member
/// who signed thus costs one index byte, and authorization costs one hash instead of a cold
/// storage read per signer. The commitment, the quorum, the latest round id and the latest
/// observation timestamp share one storage slot; each round is one slot of a 128-round ring. A
/// steady-state update touches exactly two storage slots whatever the signer count. The
/// report is the raw calldata (no selector, no ABI head): its first byte, REPORT_FORMAT (0x00),
/// begins no function selector of this contract, so a report always reaches `fallback`.
///
/// The stored answer is the median; for an even count it is the LOWER middle value, so the
/// answer is always a value some signer actually observed (no rounding, no overflow).
/// updatedAt = startedAt = the OLDEST observation timestamp of the report, so a consumer's
/// staleness check (`block.timestamp - updatedAt`) never overstates freshness.
///
/// Report layout (tightly packed bytes, built by publisher/report.py):
///   [format = 0x00: 1][n: 1][m: 1][w: 1][d: 1][base: 8]
///   n x { index: 1, value: w bytes, delta: d bytes, r: 32, vs: 32 }
///   then, in set order, the address (20 bytes) of every member of the m-member signer set
///   whose index no observation names.
/// `value` is the observation's int192 in w bytes (two's complement, 1 <= w <= 24), its
/// timestamp is base + delta (0 <= d <= 7; d = 0 when every observation has timestamp base),
/// `index` its signer's position in the set, (r, vs) its EIP-2098 compact signature.
contract OracleFeed is FeedBase {
    // ---------------------------------------------------------------- constants

    bytes32 public constant OBSERVATION_TYPEHASH =
        keccak256("Observation(int192 value,uint64 timestamp)");
    /// @dev secp256k1n / 2: larger s values are the malleable twin of a valid signature.
    uint256 private constant MAX_LOW_S =
        0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;
    uint256 private constant S_MASK = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF;

    /// @notice The first byte of every report; no function selector of this contract begins
    /// with it (a test checks), so a report never reaches a named function by accident.
    uint8 public constant REPORT_FORMAT = 0x00;
    uint256 private constant SIGNATURE_BYTES = 64;
    uint256 private constant ADDRESS_BYTES = 20;
    uint256 private constant NOT_A_MEMBER = type(uint256).max;

    // Memory of `fallback`, at fixed addresses: it is the entry point, nothing is allocated
    // before it runs, and it moves the free memory pointer past MEM_SET + 32 m before any
    // Solidity code can allocate. Scratch space 0x00 and 0x20 holds two loop constants.
    //   0x9e .. 0xe0   "\x19\x01" || domainSeparator || structHash   (the digest's input)
    //   0xe0 .. 0x160  ecrecover input: digest, v, r, s (the output overwrites the digest)
    //   0x160 .. 0x1c0 structHash input: OBSERVATION_TYPEHASH, value, timestamp
    //   0x1c0 ..       the signer set rebuilt: m words, the address at each position
    uint256 private constant MEM_BASE = 0x00;
    uint256 private constant MEM_DELTA_SHIFT = 0x20;
    uint256 private constant MEM_DIGEST_INPUT = 0x9e;
    uint256 private constant MEM_DOMAIN = 0xa0;
    uint256 private constant MEM_STRUCT_HASH = 0xc0;
    uint256 private constant MEM_DIGEST = 0xe0;
    uint256 private constant MEM_V = 0x100;
    uint256 private constant MEM_R = 0x120;
    uint256 private constant MEM_S = 0x140;
    uint256 private constant MEM_TYPEHASH = 0x160;
    uint256 private constant MEM_VALUE = 0x180;
    uint256 private constant MEM_TS = 0x1a0;
    uint256 private constant MEM_SET = 0x1c0;

    // ---------------------------------------------------------------- events

    event SignersSet(address[] signers, uint8 quorum, bytes20 commitment);

    // ---------------------------------------------------------------- errors

    error HighSSignature(uint256 index);
    error InvalidSignature(uint256 index);
    error UnauthorizedSigner(uint256 index, address signer);
    error DuplicateSigner(uint256 index, address signer);
    error ZeroAddressSigner();
    error SignerListedTwice(address signer);

    // ---------------------------------------------------------------- state

    /// @dev The committed signer set, for readers; `fallback` never reads it.
    address[] private s_signers;

    // ---------------------------------------------------------------- construction, admin

    constructor(
        uint8 decimals_,
        string memory description_,
        address[] memory signers_,
        uint8 quorum_,
        bool emitsNewRound_
    ) FeedBase(decimals_, description_, emitsNewRound_) {
        _setSigners(signers_, quorum_);
    }

    /// @notice Replace the whole signer set and the quorum atomically. Reports must then carry
    /// the new set (in this order); signatures of removed signers stop counting at once.
    function setSigners(address[] calldata signers_, uint8 quorum_) external onlyOwner {
        _setSigners(signers_, quorum_);
    }

    function signers() external view returns (address[] memory) {
        return s_signers;
    }

    // ---------------------------------------------------------------- submit

    /// @notice Accept a report of signed observations and store their median as a new round.
    /// The calldata IS the report (see the layout in the contract's documentation); reverts
    /// with a custom error naming the broken invariant. The new round id is in AnswerUpdated
    /// (and NewRound, if the feed emits it).
    ///
    /// The check runs in one assembly pass that only decides valid or not (every observation
    /// is verified, the verdicts OR-ed, one branch at the end); a refused report is then
    /// explained by `_explain`, plain Solidity that checks the invariants one by one and
    /// reverts with the first broken one. Gas on that path is no object: the transaction fails.
    fallback() external {
        uint256 header = s_header;
        {
            bytes32 domainSeparator = DOMAIN_SEPARATOR();
            bytes32 typeHash = OBSERVATION_TYPEHASH;
            assembly {
                mstore(0x80, 0x1901)
                mstore(MEM_DOMAIN, domainSeparator)
                mstore(MEM_TYPEHASH, typeHash)
            }
        }
        uint256 refused;
        uint256 newest; // the largest timestamp offset, then the newest timestamp
        assembly {
            let end
            let sigAt // from an observation's start to its r
            let valueShift
            let w
            {
                let lead := calldataload(0)
                w := byte(3, lead)
                let d := byte(4, lead)
                sigAt := add(add(w, d), 1)
                end := add(REPORT_HEADER_BYTES, mul(byte(1, lead), add(sigAt, SIGNATURE_BYTES)))
                refused := or(
                    or(byte(0, lead), or(iszero(w), or(gt(w, MAX_VALUE_BYTES), gt(d, MAX_DELTA_BYTES)))),
                    or(lt(calldatasize(), end), lt(byte(1, lead), and(shr(QUORUM_SHIFT, header), 0xff)))
                )
                if refused { end := REPORT_HEADER_BYTES }
                mstore(MEM_BASE, and(shr(152, lead), MASK_64)) // the report's oldest timestamp
                mstore(MEM_DELTA_SHIFT, sub(256, shl(3, d)))
                valueShift := sub(256, shl(3, w))
                w := shl(3, add(w, 1)) // from here on: the bit offset of the delta in a word
            }
            let seen := 0
            let baseSeen := 0 // some observation is stamped `base` exactly
            let prev := sub(0, shl(191, 1)) // int192 min: nothing sorts below it
            for { let p := REPORT_HEADER_BYTES } lt(p, end) { p := add(p, 0x40) } {
                let word := calldataload(p)
                let bad
                {
                    let value := sar(valueShift, shl(8, word))
                    bad := slt(value, prev)
                    prev := value
                    mstore(MEM_VALUE, value)
                    let delta := shr(mload(MEM_DELTA_SHIFT), shl(w, word))
                    baseSeen := or(baseSeen, iszero(delta))
                    if gt(delta, newest) { newest := delta }
                    mstore(MEM_TS, add(mload(MEM_BASE), delta))
                }
                p := add(p, sigAt)
                {
                    let vs := calldataload(add(p, 0x20))
                    let s := and(vs, S_MASK)
                    bad := or(bad, gt(s, MAX_LOW_S))
                    mstore(MEM_STRUCT_HASH, keccak256(MEM_TYPEHASH, 0x60))
                    mstore(MEM_DIGEST, keccak256(MEM_DIGEST_INPUT, 0x42))
                    mstore(MEM_V, add(shr(255, vs), 27))
                    mstore(MEM_R, calldataload(p))
                    mstore(MEM_S, s)
                }
                // A failed recovery returns no data and leaves the digest in place.
                pop(staticcall(gas(), 1, MEM_DIGEST, 0x80, MEM_DIGEST, 0x20))
                refused := or(refused, or(bad, iszero(returndatasize())))
                seen := or(seen, shl(byte(0, word), 1))
                mstore(add(MEM_SET, shl(5, byte(0, word))), mload(MEM_DIGEST))
            }
            let oldest := mload(MEM_BASE)
            newest := add(oldest, newest)
            let m := byte(2, calldataload(0))
            // Every index names a position below m. The members that did not sign follow `end`:
            // exactly m - n of them, all consumed, so the n indices were n distinct positions.
            refused := or(refused, or(iszero(baseSeen), shr(m, seen)))
            let absent := end
            if iszero(eq(seen, sub(shl(m, 1), 1))) {
                for { let j := 0 } lt(j, m) { j := add(j, 1) } {
                    if iszero(and(shr(j, seen), 1)) {
                        mstore(add(MEM_SET, shl(5, j)), shr(96, calldataload(absent)))
                        absent := add(absent, ADDRESS_BYTES)
                    }
                }
            }
            refused := or(
                refused,
                iszero(and(eq(absent, calldatasize()), eq(calldatasize(), add(end, mul(sub(m, byte(1, calldataload(0))), ADDRESS_BYTES)))))
            )
            mstore(0x40, add(MEM_SET, shl(5, 0x100))) // past any index a report can name
            refused := or(
                refused,
                or(
                    iszero(eq(shr(96, keccak256(MEM_SET, shl(5, m))), and(header, MASK_160))),
                    or(iszero(gt(oldest, shr(TS_SHIFT, header))), gt(newest, add(timestamp(), MAX_FUTURE_DRIFT)))
                )
            )
        }
        if (refused != 0) _explain(header);
        int256 answer;
        uint256 oldest;
        assembly {
            let lead := calldataload(0)
            oldest := and(shr(152, lead), MASK_64)
            let w := byte(3, lead)
            // The median: the (lower) middle observation's value, sign-extended from w bytes.
            let at := add(REPORT_HEADER_BYTES, mul(shr(1, sub(byte(1, lead), 1)), add(add(w, byte(4, lead)), 65)))
            answer := sar(sub(256, shl(3, w)), shl(8, calldataload(at)))
        }
        _record(header, answer, oldest, newest);
    }

    // ---------------------------------------------------------------- explaining a refusal

    /// @dev Revert with the first invariant the report breaks, in this order: format, quorum,
    /// then per observation (values sorted, low s, a signature that recovers, a member of the
    /// set, named once), the signer set the report carries, freshness, future drift. Reads
    /// the set `fallback` rebuilt at MEM_SET.
    function _explain(uint256 header) private view {
        (uint256 n, uint256 m, uint256 w, uint256 d, uint256 base) = _reportHeader();
        if (
            msg.data.length < REPORT_HEADER_BYTES || uint8(msg.data[0]) != REPORT_FORMAT || w == 0
                || w > MAX_VALUE_BYTES || d > MAX_DELTA_BYTES
                || msg.data.length < REPORT_HEADER_BYTES + n * (1 + w + d + SIGNATURE_BYTES)
        ) revert MalformedReport(msg.data.length);
        uint8 quorum_ = uint8(header >> QUORUM_SHIFT);
        if (n < quorum_) revert NotEnoughObservations(n, quorum_);
        bytes20 committed = bytes20(uint160(header));
        int256 previous = type(int256).min;
        uint256 seen;
        bool baseSeen;
        for (uint256 i = 0; i < n; ++i) {
            // Where the report placed each signer (its index) is checked below, with the set.
            (, int256 value, uint256 ts, bytes32 r, uint256 vs) = _observation(i, w, d, base);
            if (value < previous) revert ValuesNotSorted(i);
            previous = value;
            uint256 s = vs & S_MASK;
            if (s > MAX_LOW_S) revert HighSSignature(i);
            bytes32 digest = keccak256(
                abi.encodePacked(
                    "\x19\x01", DOMAIN_SEPARATOR(), keccak256(abi.encode(OBSERVATION_TYPEHASH, value, ts))
                )
            );
            address signer = ecrecover(digest, uint8((vs >> 255) + 27), r, bytes32(s));
            if (signer == address(0)) revert InvalidSignature(i);
            uint256 position = _positionOf(signer);
            if (position == NOT_A_MEMBER) revert UnauthorizedSigner(i, signer);
            if ((seen >> position) & 1 != 0) revert DuplicateSigner(i, signer);
            seen |= 1 << position;
            baseSeen = baseSeen || ts == base;
        }
        uint256 end = REPORT_HEADER_BYTES + n * (1 + w + d + SIGNATURE_BYTES);
        if (!baseSeen || m < n || msg.data.length != end + (m - n) * ADDRESS_BYTES) {
            revert MalformedReport(msg.data.length);
        }
        // Every signer is a distinct member: a wrong position, count or absent member means the
        // report was built for another set (or another order of this one).
        address[] storage set = s_signers;
        if (m != set.length) revert SignerSetMismatch(committed);
        for (uint256 j = 0; j < m; ++j) {
            address listed;
            assembly {
                listed := mload(add(MEM_SET, shl(5, j)))
            }
            if (listed != set[j]) revert SignerSetMismatch(committed);
        }
        uint256 lastSeen = header >> TS_SHIFT;
        uint256 limit = block.timestamp + MAX_FUTURE_DRIFT;
        for (uint256 i = 0; i < n; ++i) {
            (,, uint256 ts,,) = _observation(i, w, d, base);
            if (ts <= lastSeen) revert StaleObservation(i, uint64(ts), uint64(lastSeen));
        }
        for (uint256 i = 0; i < n; ++i) {
            (,, uint256 ts,,) = _observation(i, w, d, base);
            if (ts > limit) revert TimestampTooFarInFuture(i, uint64(ts), limit);
        }
        revert SignerSetMismatch(committed);
    }

    /// @dev Observation `i` of a report with w-byte values and d-byte timestamp offsets.
    function _observation(uint256 i, uint256 w, uint256 d, uint256 base)
        private
        pure
        returns (uint256 index, int256 value, uint256 ts, bytes32 r, uint256 vs)
    {
        uint256 at = REPORT_HEADER_BYTES + i * (1 + w + d + SIGNATURE_BYTES);
        assembly {
            let word := calldataload(at)
            index := byte(0, word)
            value := sar(sub(256, shl(3, w)), shl(8, word))
            ts := add(base, shr(sub(256, shl(3, d)), shl(shl(3, add(w, 1)), word)))
            let q := add(at, add(add(w, d), 1))
            r := calldataload(q)
            vs := calldataload(add(q, 0x20))
        }
    }

    /// @dev The signer's position in the set, NOT_A_MEMBER if it is none.
    function _positionOf(address signer) private view returns (uint256) {
        address[] storage set = s_signers;
        for (uint256 j = 0; j < set.length; ++j) {
            if (set[j] == signer) return j;
        }
        return NOT_A_MEMBER;
    }

    function _signerCount() internal view override returns (uint256) {
        return s_signers.length;
    }

    function _setSigners(address[] memory signers_, uint8 quorum_) private {
        uint256 count = signers_.length;
        _checkSetSize(count, quorum_);
        for (uint256 i = 0; i < count; ++i) {
            address signer = signers_[i];
            if (signer == address(0)) revert ZeroAddressSigner();
            for (uint256 j = 0; j < i; ++j) {
                if (signers_[j] == signer) revert SignerListedTwice(signer);
            }
        }
        // encodePacked pads each array element to 32 bytes: the set as `fallback` rebuilds it.
        bytes20 commitment = bytes20(keccak256(abi.encodePacked(signers_)));
        s_signers = signers_;
        _commitSet(commitment, quorum_);
        emit SignersSet(signers_, quorum_, commitment);
    }
}
