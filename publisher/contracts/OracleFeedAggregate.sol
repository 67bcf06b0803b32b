// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {FeedBase} from "FeedBase.sol";

/// @title OracleFeedAggregate: one price feed fed by a quorum of signed observations, verified
/// through ONE aggregated Schnorr signature over secp256k1.
/// @notice Readers use Chainlink's AggregatorV3Interface, exactly as with OracleFeed. Anyone may
/// relay a report; authority comes from the signature, which is verified here on every update
/// (no optimistic shortcut), never from msg.sender.
///
/// Each report lists the observations of the members who co-signed it, sorted by value, and
/// carries one Schnorr signature by the SUM of those members' keys (a MuSig2-style
/// multi-signature, made off chain by publisher/schnorr.py). Signing costs the chain the same
/// whatever the number of signers: one ecrecover (the Schnorr check is expressed as one, as in
/// Chronicle's LibSchnorr) and one hash. Rogue-key attacks are stopped at `setSigners`: each key
/// comes with a proof of possession (an ECDSA signature by that key), so no member can choose
/// a key that cancels the others'.
///
/// Invariants of an accepted report:
/// - at least `quorum` observations, each naming a distinct member position;
/// - values sorted ascending (non-decreasing): the median is read at the middle index;
/// - every timestamp strictly newer than the newest of every earlier accepted report, and not
///   more than MAX_FUTURE_DRIFT seconds ahead of block.timestamp; `base` is the oldest;
/// - the Schnorr signature (s, R's address) verifies under the sum of the named members' keys
///   for digest = keccak256(DOMAIN_SEPARATOR || the report's body), the body being everything
///   up to the signature: the set, the positions, the values and the timestamps are all signed.
///
/// Signer set commitment (the header's 160 bits): the high 20 bytes of
/// keccak256(aggX || aggParity || m || keysHash), keysHash = keccak256(x1 || y1 || ... || xm || ym)
/// over the members' keys in set order, (aggX, aggParity) the sum of all of them, m (one byte)
/// their number: a report's m is the set's, so its positions name real members. When every
/// member signed, a report carries aggX, aggParity and keysHash (65 bytes); otherwise it carries
/// aggX, aggParity and every member's key, and the contract adds up the named ones.
///
/// Report layout (tightly packed bytes, built by publisher/schnorr_report.py):
///   [format = 0x01: 1][n: 1][m: 1][w: 1][d: 1][base: 8]
///   n x { index: 1, value: w bytes, delta: d bytes }
///   [s: 32][R's address: 20][aggX: 32][aggParity: 1]
///   then, if n == m, [keysHash: 32], else m x { x: 32, y: 32 }.
/// The Schnorr equation: s.G = R - e.P with e = keccak256(Px || Pparity || digest || Raddress)
/// mod N, P the signing key (the named members' sum).
contract OracleFeedAggregate is FeedBase {
    /// @notice The first byte of every report; it begins no function selector of this contract
    /// (a test checks), so a report always reaches `fallback`.
    uint8 public constant REPORT_FORMAT = 0x01;

    uint256 private constant N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    uint256 private constant P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F;
    /// @dev What a key's proof of possession signs (ECDSA, digest keccak256(tag || x || y)).
    bytes32 public constant KEY_POSSESSION_TAG = keccak256("OracleFeedAggregate.keyPossession");
    uint256 private constant SIGNATURE_BYTES = 52; // s, R's address
    uint256 private constant AGGREGATE_BYTES = 33; // aggX, aggParity
    uint256 private constant KEY_BYTES = 64;

    event SignersSet(address[] signers, uint8 quorum, bytes20 commitment);

    error SignerNamedTwice(uint256 index, uint256 position);
    error InvalidSignature();
    error InvalidKey(uint256 position);
    error InvalidKeyProof(uint256 position);
    error KeyListedTwice(uint256 position);

    /// @dev The members' keys, x then y, in set order; `fallback` never reads them.
    uint256[] private s_keys;

    constructor(
        uint8 decimals_,
        string memory description_,
        uint256[2][] memory keys_,
        bytes32[2][] memory proofs_,
        uint8 quorum_,
        bool emitsNewRound_
    ) FeedBase(decimals_, description_, emitsNewRound_) {
        _setSigners(keys_, proofs_, quorum_);
    }

    /// @notice Replace the whole signer set and the quorum atomically. Each key (x, y) comes
    /// with its proof of possession: an EIP-2098 compact ECDSA signature (r, vs) by that key
    /// of keccak256(KEY_POSSESSION_TAG || x || y).
    function setSigners(uint256[2][] calldata keys_, bytes32[2][] calldata proofs_, uint8 quorum_)
        external
        onlyOwner
    {
        _setSigners(keys_, proofs_, quorum_);
    }

    /// @notice The members' addresses (the address of each key), in set order.
    function signers() external view returns (address[] memory members) {
        uint256 m = s_keys.length / 2;
        members = new address[](m);
        for (uint256 j = 0; j < m; ++j) {
            members[j] = _addressOf(s_keys[2 * j], s_keys[2 * j + 1]);
        }
    }

    /// @notice The members' public keys (x, y), in set order.
    function signerKeys() external view returns (uint256[2][] memory keys) {
        uint256 m = s_keys.length / 2;
        keys = new uint256[2][](m);
        for (uint256 j = 0; j < m; ++j) {
            keys[j] = [s_keys[2 * j], s_keys[2 * j + 1]];
        }
    }

    // ---------------------------------------------------------------- submit

    /// @notice Accept a report (the raw calldata, see the layout above) and store its median as
    /// a new round; reverts with a custom error naming the broken invariant.
    fallback() external {
        uint256 header = s_header;
        (uint256 n, uint256 m, uint256 stride, uint256 end) = _shape(header);
        (uint256 seen, uint256 oldest, uint256 newest) = _scan(header, n, m, stride);
        (uint256 px, uint256 parity) = _signingKey(header, n, m, end, seen);
        _verify(px, parity, end);
        int256 answer;
        assembly {
            let lead := calldataload(0)
            let at := add(REPORT_HEADER_BYTES, mul(shr(1, sub(byte(1, lead), 1)), stride))
            answer := sar(sub(256, shl(3, byte(3, lead))), shl(8, calldataload(at)))
        }
        _record(header, answer, oldest, newest);
    }

    // ---------------------------------------------------------------- checks

    /// @dev The report's counts, its observations' stride and where its body ends; refuses a
    /// malformed report (wrong format, widths or length) and one below quorum.
    function _shape(uint256 header) private pure returns (uint256 n, uint256 m, uint256 stride, uint256 end) {
        uint256 w;
        uint256 d;
        uint256 format;
        assembly {
            // On the hot path: the fields read here directly, not through _reportHeader (-50 gas).
            let lead := calldataload(0)
            format := byte(0, lead)
            n := byte(1, lead)
            m := byte(2, lead)
            w := byte(3, lead)
            d := byte(4, lead)
        }
        stride = 1 + w + d;
        end = REPORT_HEADER_BYTES + n * stride;
        uint256 keys = n == m ? 32 : m * KEY_BYTES;
        if (
            msg.data.length < REPORT_HEADER_BYTES || format != REPORT_FORMAT || w == 0 || w > MAX_VALUE_BYTES
                || d > MAX_DELTA_BYTES || n > m
                || msg.data.length != end + SIGNATURE_BYTES + AGGREGATE_BYTES + keys
        ) revert MalformedReport(msg.data.length);
        uint8 quorum_ = uint8(header >> QUORUM_SHIFT);
        if (n < quorum_) revert NotEnoughObservations(n, quorum_);
    }

    /// @dev One pass over the observations: sorted values, distinct positions below m, the base
    /// timestamp used, every timestamp fresh and not too far ahead. Returns the positions named
    /// (a bitmap) and the oldest and newest timestamps.
    function _scan(uint256 header, uint256 n, uint256 m, uint256 stride)
        private
        view
        returns (uint256 seen, uint256 oldest, uint256 newest)
    {
        uint256 unsorted = type(uint256).max; // the first observation out of order
        uint256 twice = type(uint256).max; // the first observation naming a taken position
        uint256 flags; // bit 0: some position is outside the set, bit 1: some delta is 0
        assembly {
            let lead := calldataload(0)
            mstore(0x00, sub(256, shl(3, byte(3, lead)))) // value shift
            mstore(0x20, sub(256, shl(3, byte(4, lead)))) // delta shift
            oldest := and(shr(152, lead), MASK_64)
            let prev := sub(0, shl(191, 1)) // int192 min: nothing sorts below it
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let word := calldataload(add(REPORT_HEADER_BYTES, mul(i, stride)))
                let value := sar(mload(0x00), shl(8, word))
                if and(slt(value, prev), eq(unsorted, not(0))) { unsorted := i }
                prev := value
                value := shr(mload(0x20), shl(sub(264, mload(0x00)), word)) // the delta
                if iszero(value) { flags := or(flags, 2) }
                if gt(value, newest) { newest := value }
                value := byte(0, word) // the position
                if iszero(lt(value, m)) { flags := or(flags, 1) }
                if and(iszero(iszero(and(seen, shl(value, 1)))), eq(twice, not(0))) { twice := i }
                seen := or(seen, shl(value, 1))
            }
            newest := add(oldest, newest)
        }
        if (unsorted != type(uint256).max) revert ValuesNotSorted(unsorted);
        if (twice != type(uint256).max) revert SignerNamedTwice(twice, _indexAt(twice, stride));
        if (flags != 2) revert MalformedReport(msg.data.length);
        uint256 lastSeen = header >> TS_SHIFT;
        if (oldest <= lastSeen) {
            revert StaleObservation(_firstStamped(n, stride, oldest), uint64(oldest), uint64(lastSeen));
        }
        uint256 limit = block.timestamp + MAX_FUTURE_DRIFT;
        if (newest > limit) revert TimestampTooFarInFuture(_firstStamped(n, stride, newest), uint64(newest), limit);
    }

    /// @dev The key that must have signed: the committed sum of all members when every one of
    /// them did, else the sum of the named members' keys, carried in full and checked against
    /// the commitment.
    function _signingKey(uint256 header, uint256 n, uint256 m, uint256 end, uint256 seen)
        private
        view
        returns (uint256 px, uint256 parity)
    {
        uint256 at = end + SIGNATURE_BYTES;
        uint256 aggX;
        uint256 aggParity;
        bytes32 keysHash;
        uint256 keysAt = at + AGGREGATE_BYTES;
        assembly {
            aggX := calldataload(at)
            aggParity := byte(0, calldataload(add(at, 32)))
        }
        if (n == m) {
            assembly {
                keysHash := calldataload(keysAt)
            }
            px = aggX;
            parity = aggParity;
        } else {
            uint256 keys;
            assembly {
                keys := mload(0x40)
                calldatacopy(keys, keysAt, mul(m, KEY_BYTES))
                keysHash := keccak256(keys, mul(m, KEY_BYTES))
                mstore(0x40, add(keys, mul(m, KEY_BYTES)))
            }
            bool ok;
            (px, parity, ok) = _sum(keys, m, seen);
            if (!ok) revert InvalidSignature();
        }
        bytes20 committed = bytes20(uint160(header));
        if (bytes20(keccak256(abi.encodePacked(aggX, uint8(aggParity), uint8(m), keysHash))) != committed) {
            revert SignerSetMismatch(committed);
        }
    }

    /// @dev Refuse unless (s, R's address) is a Schnorr signature by (px, parity) of the
    /// report's digest. ecrecover(-s.px, parity, px, e.px) yields the address of s.G + e.P.
    function _verify(uint256 px, uint256 parity, uint256 end) private view {
        bytes32 domainSeparator = DOMAIN_SEPARATOR();
        bool ok;
        assembly {
            let ptr := mload(0x40)
            mstore(ptr, domainSeparator)
            calldatacopy(add(ptr, 0x20), 0, end)
            let digest := keccak256(ptr, add(end, 0x20))
            let s := calldataload(end)
            let rAddress := shr(96, calldataload(add(end, 0x20)))
            // e = keccak256(px || parity || digest || rAddress), packed: 32 + 1 + 32 + 20 bytes.
            mstore(ptr, px)
            mstore8(add(ptr, 0x20), parity)
            mstore(add(ptr, 0x21), digest)
            mstore(add(ptr, 0x41), shl(96, rAddress))
            let e := mod(keccak256(ptr, 0x55), N)
            mstore(ptr, sub(N, mulmod(s, px, N)))
            mstore(add(ptr, 0x20), add(parity, 27))
            mstore(add(ptr, 0x40), px)
            mstore(add(ptr, 0x60), mulmod(e, px, N))
            mstore(0x00, 0)
            pop(staticcall(gas(), 1, ptr, 0x80, 0x00, 0x20))
            ok := and(
                and(eq(mload(0x00), rAddress), iszero(iszero(rAddress))),
                and(lt(s, N), and(iszero(iszero(s)), and(lt(px, N), lt(parity, 2))))
            )
        }
        if (!ok) revert InvalidSignature();
    }

    // ---------------------------------------------------------------- keys

    /// @dev The sum of the keys at the positions set in `seen`, of the m keys (x, y) at memory
    /// `keys`, as (x, parity of y); ok is false when the sum is the point at infinity. The
    /// addition is complete: a running sum equal to the next key doubles, one opposite to it
    /// becomes the point at infinity and the sum goes on (Python's `add` sums alike).
    function _sum(uint256 keys, uint256 m, uint256 seen)
        private
        view
        returns (uint256 x, uint256 parity, bool ok)
    {
        uint256 X;
        uint256 Y;
        uint256 Z; // 0: the point at infinity
        assembly {
            // (X, Y, Z) doubled; y != 0 on this curve, so the result is never infinity.
            function double(x1, y1, z1) -> x3, y3, z3 {
                let yy := mulmod(y1, y1, P)
                let s4 := mulmod(4, mulmod(x1, yy, P), P)
                let m3 := mulmod(3, mulmod(x1, x1, P), P)
                x3 := addmod(mulmod(m3, m3, P), sub(P, addmod(s4, s4, P)), P)
                y3 := addmod(mulmod(m3, addmod(s4, sub(P, x3), P), P), sub(P, mulmod(8, mulmod(yy, yy, P), P)), P)
                z3 := mulmod(2, mulmod(y1, z1, P), P)
            }
            // (X, Y, Z) + (x2, y2, 1) on y^2 = x^3 + 7, complete: equal points double, opposite
            // ones give the point at infinity (z3 = 0).
            function addAffine(x1, y1, z1, x2, y2) -> x3, y3, z3 {
                let z2 := mulmod(z1, z1, P)
                let h := addmod(mulmod(x2, z2, P), sub(P, x1), P)
                let r := addmod(mulmod(y2, mulmod(z2, z1, P), P), sub(P, y1), P)
                switch h
                case 0 {
                    switch r
                    case 0 { x3, y3, z3 := double(x1, y1, z1) }
                    default { z3 := 0 }
                }
                default {
                    let h2 := mulmod(h, h, P)
                    let h3 := mulmod(h2, h, P)
                    let xh2 := mulmod(x1, h2, P)
                    x3 := addmod(addmod(mulmod(r, r, P), sub(P, h3), P), sub(P, addmod(xh2, xh2, P)), P)
                    y3 := addmod(mulmod(r, addmod(xh2, sub(P, x3), P), P), sub(P, mulmod(y1, h3, P)), P)
                    z3 := mulmod(z1, h, P)
                }
            }
            for { let j := 0 } lt(j, m) { j := add(j, 1) } {
                if and(shr(j, seen), 1) {
                    let x2 := mload(add(keys, shl(6, j)))
                    let y2 := mload(add(keys, add(shl(6, j), 0x20)))
                    switch Z
                    case 0 {
                        X := x2
                        Y := y2
                        Z := 1
                    }
                    default { X, Y, Z := addAffine(X, Y, Z, x2, y2) }
                }
            }
        }
        if (Z == 0) return (0, 0, false);
        if (Z == 1) return (X, Y & 1, true);
        uint256 zInverse = _inverse(Z);
        uint256 zInverse2 = mulmod(zInverse, zInverse, P);
        return (mulmod(X, zInverse2, P), mulmod(Y, mulmod(zInverse2, zInverse, P), P) & 1, true);
    }

    /// @dev z^(p-2) mod p through the modexp precompile.
    function _inverse(uint256 z) private view returns (uint256 inverse) {
        assembly {
            let ptr := mload(0x40)
            mstore(ptr, 0x20)
            mstore(add(ptr, 0x20), 0x20)
            mstore(add(ptr, 0x40), 0x20)
            mstore(add(ptr, 0x60), z)
            mstore(add(ptr, 0x80), sub(P, 2))
            mstore(add(ptr, 0xa0), P)
            if iszero(staticcall(gas(), 5, ptr, 0xc0, ptr, 0x20)) { revert(0, 0) }
            inverse := mload(ptr)
        }
    }

    function _addressOf(uint256 x, uint256 y) private pure returns (address) {
        return address(uint160(uint256(keccak256(abi.encodePacked(x, y)))));
    }

    function _indexAt(uint256 i, uint256 stride) private pure returns (uint256 position) {
        assembly {
            position := byte(0, calldataload(add(REPORT_HEADER_BYTES, mul(i, stride))))
        }
    }

    /// @dev The first observation stamped `ts`.
    function _firstStamped(uint256 n, uint256 stride, uint256 ts) private pure returns (uint256) {
        (,, uint256 w, uint256 d, uint256 base) = _reportHeader();
        for (uint256 i = 0; i < n; ++i) {
            uint256 delta;
            assembly {
                let word := calldataload(add(REPORT_HEADER_BYTES, mul(i, stride)))
                delta := shr(sub(256, shl(3, d)), shl(shl(3, add(w, 1)), word))
            }
            if (base + delta == ts) return i;
        }
        return n;
    }

    function _signerCount() internal view override returns (uint256) {
        return s_keys.length / 2;
    }

    function _setSigners(uint256[2][] memory keys_, bytes32[2][] memory proofs_, uint8 quorum_) private {
        uint256 m = keys_.length;
        _checkSetSize(m, quorum_);
        if (proofs_.length != m) revert InvalidKeyProof(proofs_.length);
        address[] memory members = new address[](m);
        uint256 flat;
        assembly {
            flat := mload(0x40)
            mstore(0x40, add(flat, mul(m, KEY_BYTES)))
        }
        for (uint256 j = 0; j < m; ++j) {
            uint256 x = keys_[j][0];
            uint256 y = keys_[j][1];
            // On the curve, and usable as ecrecover's r when it signs alone.
            if (x >= N || y >= P || mulmod(y, y, P) != addmod(mulmod(mulmod(x, x, P), x, P), 7, P)) {
                revert InvalidKey(j);
            }
            for (uint256 k = 0; k < j; ++k) {
                if (keys_[k][0] == x) revert KeyListedTwice(j);
            }
            members[j] = _addressOf(x, y);
            bytes32 digest = keccak256(abi.encodePacked(KEY_POSSESSION_TAG, x, y));
            uint256 vs = uint256(proofs_[j][1]);
            uint256 s = vs & ((1 << 255) - 1);
            if (ecrecover(digest, uint8((vs >> 255) + 27), proofs_[j][0], bytes32(s)) != members[j]) {
                revert InvalidKeyProof(j);
            }
            assembly {
                mstore(add(flat, shl(6, j)), x)
                mstore(add(flat, add(shl(6, j), 0x20)), y)
            }
        }
        (uint256 aggX, uint256 aggParity, bool ok) = _sum(flat, m, type(uint256).max);
        if (!ok || aggX >= N) revert InvalidKey(m);
        bytes32 keysHash;
        assembly {
            keysHash := keccak256(flat, mul(m, KEY_BYTES))
        }
        bytes20 commitment = bytes20(keccak256(abi.encodePacked(aggX, uint8(aggParity), uint8(m), keysHash)));
        delete s_keys;
        for (uint256 j = 0; j < m; ++j) {
            s_keys.push(keys_[j][0]);
            s_keys.push(keys_[j][1]);
        }
        _commitSet(commitment, quorum_);
        emit SignersSet(members, quorum_, commitment);
    }
}
