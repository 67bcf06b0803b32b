// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title OracleFeed: one price feed fed by a quorum of EIP-712-signed observations.
/// @notice Readers use Chainlink's AggregatorV3Interface (decimals, description, version,
/// getRoundData, latestRoundData). Anyone may relay a report; authority comes from the
/// signatures, every one of which is verified here (no optimistic shortcut), never from
/// msg.sender.
///
/// Invariants of an accepted report (checked in `submit`):
/// - at least `quorum` observations, each signed by a distinct member of the signer set;
/// - values sorted ascending (non-decreasing), so the median is read at the middle index;
/// - every timestamp strictly newer than the newest observation of every earlier accepted
///   report (`latestObservationTimestamp`), which makes every signature single-use, and not
///   more than MAX_FUTURE_DRIFT seconds ahead of block.timestamp;
/// - low-s signatures only (EIP-2), in EIP-2098 compact form (r, vs).
///
/// Gas design (see README, "Contract and gas"): the signer set is committed in storage as one
/// 160-bit hash. A report names, for each observation, its signer's position in the set; the
/// contract puts each RECOVERED address at that position and takes the members that did not
/// sign from calldata, then hashes the whole set and compares it with the commitment. A member
/// who signed thus costs no calldata at all, and authorization costs one hash instead of a cold
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
contract OracleFeed {
    // ---------------------------------------------------------------- types and constants

    /// @dev One round in one storage slot: 192 + 64 bits.
    struct Round {
        int192 answer;
        uint64 updatedAt;
    }

    uint256 public constant version = 3;
    /// @notice How far ahead of block.timestamp an observation may be stamped (clock skew).
    uint64 public constant MAX_FUTURE_DRIFT = 60;
    /// @notice Rounds kept for getRoundData; older rounds are overwritten (ring buffer).
    uint256 public constant ROUND_HISTORY = 128;
    /// @notice Signer indices are one byte and index a uint256 bitmap.
    uint256 public constant MAX_SIGNERS = 255;

    bytes32 private constant DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    );
    bytes32 public constant OBSERVATION_TYPEHASH =
        keccak256("Observation(int192 value,uint64 timestamp)");
    bytes32 private constant NAME_HASH = keccak256("OracleFeed");
    bytes32 private constant VERSION_HASH = keccak256("1");
    /// @dev secp256k1n / 2: larger s values are the malleable twin of a valid signature.
    uint256 private constant MAX_LOW_S =
        0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;
    uint256 private constant S_MASK = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF;

    /// @notice The first byte of every report; no function selector of this contract begins
    /// with it (a test checks), so a report never reaches a named function by accident.
    uint8 public constant REPORT_FORMAT = 0x00;
    // [format][n][m][w][d][base: 8 bytes]
    uint256 private constant REPORT_HEADER_BYTES = 13;
    uint256 private constant MAX_VALUE_BYTES = 24;
    uint256 private constant MAX_DELTA_BYTES = 7;
    uint256 private constant SIGNATURE_BYTES = 64;
    uint256 private constant ADDRESS_BYTES = 20;
    uint256 private constant MASK_64 = (1 << 64) - 1;

    // Header slot: [ commitment:160 | quorum:8 | latestRoundId:40 | latestObservationTs:48 ].
    uint256 private constant QUORUM_SHIFT = 160;
    uint256 private constant ROUND_SHIFT = 168;
    uint256 private constant TS_SHIFT = 208;
    uint256 private constant MASK_160 = (1 << 160) - 1;
    uint256 private constant MASK_40 = (1 << 40) - 1;

    // A failure of the assembly loop, returned as one word (code << 224 | position << 160 |
    // recovered signer) and turned into a custom error by `_fail`.
    uint256 private constant E_NOT_SORTED = 1;
    uint256 private constant E_HIGH_S = 2;
    uint256 private constant E_BAD_SIGNATURE = 3;
    uint256 private constant E_UNAUTHORIZED = 4;
    uint256 private constant E_DUPLICATE = 5;
    uint256 private constant E_SET = 6;
    uint256 private constant FAULT_CODE_SHIFT = 224;

    // Scratch memory of `_verify`, from the free memory pointer `buf`:
    //   buf+0x1e .. buf+0x60   "\x19\x01" || domainSeparator || structHash   (the digest's input)
    //   buf+0x60 .. buf+0xe0   ecrecover input: digest, v, r, s
    //   buf+0xe0 .. buf+0x140  structHash input: OBSERVATION_TYPEHASH, value, timestamp
    //   buf+0x140 ..           the signer set rebuilt: m words, the address at each position
    uint256 private constant SET_OFFSET = 0x140;

    // ---------------------------------------------------------------- events

    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
    event NewRound(uint256 indexed roundId, address indexed startedBy, uint256 startedAt);
    event SignersSet(address[] signers, uint8 quorum, bytes20 commitment);
    event QuorumSet(uint8 quorum);
    event OwnershipTransferRequested(address indexed from, address indexed to);
    event OwnershipTransferred(address indexed from, address indexed to);

    // ---------------------------------------------------------------- errors

    error NoDataPresent();
    error RoundNotAvailable(uint80 roundId);
    error MalformedReport(uint256 length);
    error SignerSetMismatch(bytes20 committed);
    error NotEnoughObservations(uint256 given, uint8 quorum);
    error ValuesNotSorted(uint256 index);
    error StaleObservation(uint256 index, uint64 timestamp, uint64 latestObservationTimestamp);
    error TimestampTooFarInFuture(uint256 index, uint64 timestamp, uint256 maxAllowed);
    error HighSSignature(uint256 index);
    error InvalidSignature(uint256 index);
    error UnauthorizedSigner(uint256 index, address signer);
    error DuplicateSigner(uint256 index, address signer);
    error InvalidQuorum(uint8 quorum, uint256 signerCount);
    error TooManySigners(uint256 count, uint256 max);
    error ZeroAddressSigner();
    error SignerListedTwice(address signer);
    error NotOwner(address caller);
    error NotPendingOwner(address caller);

    // ---------------------------------------------------------------- state

    uint8 public immutable decimals;
    uint256 private immutable CACHED_CHAIN_ID;
    bytes32 private immutable CACHED_DOMAIN_SEPARATOR;

    /// @dev The only slot `submit` reads: see the header layout above.
    uint256 private s_header;
    Round[ROUND_HISTORY] private s_rounds;

    address public owner;
    address public pendingOwner;
    /// @dev The committed signer set, for readers; `submit` never reads it.
    address[] private s_signers;
    string public description;

    // ---------------------------------------------------------------- construction, admin

    constructor(uint8 decimals_, string memory description_, address[] memory signers_, uint8 quorum_) {
        decimals = decimals_;
        description = description_;
        owner = msg.sender;
        CACHED_CHAIN_ID = block.chainid;
        CACHED_DOMAIN_SEPARATOR = _buildDomainSeparator();
        emit OwnershipTransferred(address(0), msg.sender);
        _setSigners(signers_, quorum_);
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// @notice Replace the whole signer set and the quorum atomically. Reports must then carry
    /// the new set (in this order); signatures of removed signers stop counting at once.
    function setSigners(address[] calldata signers_, uint8 quorum_) external onlyOwner {
        _setSigners(signers_, quorum_);
    }

    /// @notice Change the quorum only; 1 <= quorum <= number of signers.
    function setQuorum(uint8 quorum_) external onlyOwner {
        uint256 count = s_signers.length;
        if (quorum_ == 0 || quorum_ > count) revert InvalidQuorum(quorum_, count);
        s_header = (s_header & ~(uint256(0xff) << QUORUM_SHIFT)) | (uint256(quorum_) << QUORUM_SHIFT);
        emit QuorumSet(quorum_);
    }

    /// @notice Step one of an ownership transfer; `to` must call acceptOwnership.
    function transferOwnership(address to) external onlyOwner {
        pendingOwner = to;
        emit OwnershipTransferRequested(msg.sender, to);
    }

    /// @notice Step two: the pending owner takes over.
    function acceptOwnership() external {
        if (msg.sender != pendingOwner) revert NotPendingOwner(msg.sender);
        address previous = owner;
        owner = msg.sender;
        pendingOwner = address(0);
        emit OwnershipTransferred(previous, msg.sender);
    }

    function signers() external view returns (address[] memory) {
        return s_signers;
    }

    /// @notice The 160-bit commitment to the signer set: the high 20 bytes of
    /// keccak256(the signer addresses, each left-padded to 32 bytes, in set order).
    function signerSetCommitment() external view returns (bytes20) {
        return bytes20(uint160(s_header));
    }

    function quorum() external view returns (uint8) {
        return uint8(s_header >> QUORUM_SHIFT);
    }

    function latestRound() external view returns (uint256) {
        return (s_header >> ROUND_SHIFT) & MASK_40;
    }

    function latestObservationTimestamp() external view returns (uint64) {
        return uint64(s_header >> TS_SHIFT);
    }

    function DOMAIN_SEPARATOR() public view returns (bytes32) {
        // Recomputed after a chain fork so signatures never cross to the forked chain.
        return block.chainid == CACHED_CHAIN_ID ? CACHED_DOMAIN_SEPARATOR : _buildDomainSeparator();
    }

    // ---------------------------------------------------------------- submit

    /// @notice Accept a report of signed observations and store their median as a new round.
    /// The calldata IS the report (see the layout in the contract's documentation); reverts
    /// with a custom error naming the broken invariant. The new round id is in NewRound.
    fallback() external {
        uint256 header = s_header;
        (uint256 n, uint256 w, uint256 d, uint256 oldest, uint256 newest) = _checkReport(header);
        _record(header, n, w, d, oldest, newest);
    }

    /// @dev Every check of a report; returns its count and widths, and the oldest and newest
    /// observation timestamps.
    function _checkReport(uint256 header)
        private
        view
        returns (uint256 n, uint256 w, uint256 d, uint256 oldest, uint256 newest)
    {
        uint256 m;
        uint256 base;
        bool malformed;
        assembly ("memory-safe") {
            let lead := calldataload(0)
            n := byte(1, lead)
            m := byte(2, lead)
            w := byte(3, lead)
            d := byte(4, lead)
            base := and(shr(152, lead), MASK_64)
            malformed := or(
                or(byte(0, lead), lt(calldatasize(), REPORT_HEADER_BYTES)),
                or(iszero(w), or(gt(w, MAX_VALUE_BYTES), gt(d, MAX_DELTA_BYTES)))
            )
        }
        uint256 end = REPORT_HEADER_BYTES + n * (1 + w + d + SIGNATURE_BYTES);
        if (malformed || msg.data.length < end) revert MalformedReport(msg.data.length);
        {
            uint8 quorum_ = uint8(header >> QUORUM_SHIFT);
            if (n < quorum_) revert NotEnoughObservations(n, quorum_);
        }
        uint256 fault;
        (fault, oldest, newest) = _verify(header, m, w, d, base, end);
        if (fault != 0) _fail(fault, w, d);
        uint256 lastSeen = header >> TS_SHIFT;
        if (oldest <= lastSeen) _failStale(w, d, lastSeen);
        if (newest > block.timestamp + MAX_FUTURE_DRIFT) _failFuture(w, d);
    }

    /// @dev Store the median of a checked report as the next round and emit Chainlink's events.
    function _record(uint256 header, uint256 n, uint256 w, uint256 d, uint256 oldest, uint256 newest)
        private
    {
        int256 answer;
        assembly ("memory-safe") {
            // The median: the (lower) middle observation's value, sign-extended from w bytes.
            let at := add(REPORT_HEADER_BYTES, mul(shr(1, sub(n, 1)), add(add(w, d), 65)))
            answer := sar(sub(256, shl(3, w)), shl(8, calldataload(at)))
        }
        uint256 next = ((header >> ROUND_SHIFT) & MASK_40) + 1;
        s_header = (header & ((1 << ROUND_SHIFT) - 1)) | (next << ROUND_SHIFT) | (newest << TS_SHIFT);
        assembly ("memory-safe") {
            sstore(add(s_rounds.slot, mod(next, ROUND_HISTORY)), or(shl(192, oldest), and(answer, 0xffffffffffffffffffffffffffffffffffffffffffffffff)))
        }
        emit NewRound(next, msg.sender, oldest);
        emit AnswerUpdated(answer, next, oldest);
    }

    // ---------------------------------------------------------------- AggregatorV3Interface

    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        roundId = uint80((s_header >> ROUND_SHIFT) & MASK_40);
        if (roundId == 0) revert NoDataPresent();
        return _roundData(roundId);
    }

    /// @notice Rounds older than ROUND_HISTORY behind the latest revert with RoundNotAvailable.
    function getRoundData(uint80 roundId_)
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        uint80 latest = uint80((s_header >> ROUND_SHIFT) & MASK_40);
        if (roundId_ == 0 || roundId_ > latest || latest - roundId_ >= ROUND_HISTORY) {
            revert RoundNotAvailable(roundId_);
        }
        return _roundData(roundId_);
    }

    // ---------------------------------------------------------------- internals

    function _roundData(uint80 roundId)
        private
        view
        returns (uint80, int256, uint256, uint256, uint80)
    {
        Round memory r = s_rounds[roundId % ROUND_HISTORY];
        return (roundId, r.answer, r.updatedAt, r.updatedAt, roundId);
    }

    /// @dev Checks every observation (sorted value, low s, a signature that recovers, a
    /// position in the set named once) and then the rebuilt signer set against the
    /// commitment in `header`. Returns 0 or the first failure (see E_*), and the oldest and
    /// newest timestamps, which the caller checks. Observations lie from REPORT_HEADER_BYTES to
    /// `end`, the absent members' addresses from `end` to the end of calldata.
    function _verify(uint256 header, uint256 m, uint256 w, uint256 d, uint256 base, uint256 end)
        private
        view
        returns (uint256 fault, uint256 oldest, uint256 newest)
    {
        uint256 buf = _scratch(m);
        assembly ("memory-safe") {
            // The signer of the observation whose signature starts at `q` (0 if none), or
            // highS = 1 for a malleable signature. Expects value and timestamp at buf+0x100.
            function recover(buf_, q) -> signer, highS {
                let vs := calldataload(add(q, 0x20))
                let s := and(vs, S_MASK)
                highS := gt(s, MAX_LOW_S)
                mstore(add(buf_, 0x40), keccak256(add(buf_, 0xe0), 0x60))
                mstore(add(buf_, 0x60), keccak256(add(buf_, 0x1e), 0x42))
                mstore(add(buf_, 0x80), add(shr(255, vs), 27))
                mstore(add(buf_, 0xa0), calldataload(q))
                mstore(add(buf_, 0xc0), s)
                // A failed recovery returns no data (and leaves the digest where the address
                // would be): returndatasize tells.
                pop(staticcall(gas(), 1, add(buf_, 0x60), 0x80, add(buf_, 0x60), 0x20))
                signer := mul(mload(add(buf_, 0x60)), eq(returndatasize(), 0x20))
            }
            let seen := 0
            let prev := sub(0, shl(191, 1)) // int192 min: nothing sorts below it
            oldest := not(0)
            let valueShift := sub(256, shl(3, w))
            let sigAt := add(add(w, d), 1)
            // Loop constants kept in the scratch space (0x00-0x3f) rather than on the stack.
            mstore(0x00, base)
            mstore(0x20, sub(256, shl(3, d)))
            w := shl(3, add(w, 1)) // from here on: the bit offset of the delta
            for { let p := REPORT_HEADER_BYTES } lt(p, end) { p := add(add(p, sigAt), SIGNATURE_BYTES) } {
                let word := calldataload(p)
                {
                    let value := sar(valueShift, shl(8, word))
                    if slt(value, prev) { fault := or(shl(FAULT_CODE_SHIFT, E_NOT_SORTED), shl(160, p)) break }
                    prev := value
                    let ts := add(mload(0x00), shr(mload(0x20), shl(w, word)))
                    if lt(ts, oldest) { oldest := ts }
                    if gt(ts, newest) { newest := ts }
                    mstore(add(buf, 0x100), value)
                    mstore(add(buf, 0x120), ts)
                }
                let signer, highS := recover(buf, add(p, sigAt))
                if highS { fault := or(shl(FAULT_CODE_SHIFT, E_HIGH_S), shl(160, p)) break }
                if iszero(signer) { fault := or(shl(FAULT_CODE_SHIFT, E_BAD_SIGNATURE), shl(160, p)) break }
                let index := byte(0, word)
                if iszero(lt(index, m)) { fault := or(or(shl(FAULT_CODE_SHIFT, E_UNAUTHORIZED), shl(160, p)), signer) break }
                let bit := shl(index, 1)
                if and(seen, bit) { fault := or(or(shl(FAULT_CODE_SHIFT, E_DUPLICATE), shl(160, p)), signer) break }
                seen := or(seen, bit)
                mstore(add(add(buf, SET_OFFSET), shl(5, index)), signer)
            }
            if iszero(fault) {
                // Members that did not sign, in set order, from the calldata after `end`.
                let set := add(buf, SET_OFFSET)
                let absent := end
                if iszero(eq(seen, sub(shl(m, 1), 1))) {
                    for { let j := 0 } lt(j, m) { j := add(j, 1) } {
                        if iszero(and(shr(j, seen), 1)) {
                            mstore(add(set, shl(5, j)), shr(96, calldataload(absent)))
                            absent := add(absent, ADDRESS_BYTES)
                        }
                    }
                }
                let given := shr(96, keccak256(set, shl(5, m)))
                if iszero(and(eq(absent, calldatasize()), eq(given, and(header, MASK_160)))) {
                    fault := shl(FAULT_CODE_SHIFT, E_SET)
                }
            }
        }
    }

    /// @dev Scratch memory of `_verify` (see SET_OFFSET), allocated so the rebuilt signer set
    /// stays readable by `_fail`.
    function _scratch(uint256 m) private view returns (uint256 buf) {
        bytes32 domainSeparator = DOMAIN_SEPARATOR();
        bytes32 typeHash = OBSERVATION_TYPEHASH;
        assembly ("memory-safe") {
            buf := mload(0x40)
            mstore(0x40, add(add(buf, SET_OFFSET), shl(5, m)))
            mstore(buf, 0x1901)
            mstore(add(buf, 0x20), domainSeparator)
            mstore(add(buf, 0xe0), typeHash)
        }
    }

    // ---------------------------------------------------------------- failures (gas no object)

    /// @dev Observation `i`: its calldata position, signer index, value and timestamp.
    function _observation(uint256 i, uint256 w, uint256 d)
        private
        pure
        returns (uint256 at, uint256 index, int256 value, uint256 ts)
    {
        at = REPORT_HEADER_BYTES + i * (1 + w + d + SIGNATURE_BYTES);
        uint256 base;
        assembly ("memory-safe") {
            base := and(shr(152, calldataload(0)), MASK_64)
            let word := calldataload(at)
            index := byte(0, word)
            value := sar(sub(256, shl(3, w)), shl(8, word))
            ts := add(base, shr(sub(256, shl(3, d)), shl(shl(3, add(w, 1)), word)))
        }
    }

    function _fail(uint256 fault, uint256 w, uint256 d) private view {
        uint256 code = fault >> FAULT_CODE_SHIFT;
        bytes20 committed = bytes20(uint160(s_header));
        if (code == E_SET) _failSet(w, d, committed);
        uint256 i = (((fault >> 160) & MASK_64) - REPORT_HEADER_BYTES) / (1 + w + d + SIGNATURE_BYTES);
        address signer = address(uint160(fault));
        if (code == E_NOT_SORTED) revert ValuesNotSorted(i);
        if (code == E_HIGH_S) revert HighSSignature(i);
        if (code == E_BAD_SIGNATURE) revert InvalidSignature(i);
        if (code == E_DUPLICATE) revert DuplicateSigner(i, signer);
        if (code == E_UNAUTHORIZED) {
            // A member named by a stale index: the report was built for another set.
            if (_isMember(signer)) revert SignerSetMismatch(committed);
        }
        revert UnauthorizedSigner(i, signer);
    }

    /// @dev The rebuilt set did not hash to the commitment: name the first observation whose
    /// recovered signer is no member at all (a wrong key, chain, contract, feed or value);
    /// if every signer is a member, the report carried another set (stale order or members).
    function _failSet(uint256 w, uint256 d, bytes20 committed) private view {
        uint256 n;
        assembly ("memory-safe") {
            n := byte(1, calldataload(0))
        }
        uint256 set;
        assembly ("memory-safe") {
            // _scratch allocated the set last: it ends at the free memory pointer.
            set := sub(mload(0x40), shl(5, byte(2, calldataload(0))))
        }
        for (uint256 i = 0; i < n; ++i) {
            (, uint256 index,,) = _observation(i, w, d);
            address recovered;
            assembly ("memory-safe") {
                recovered := mload(add(set, shl(5, index)))
            }
            if (!_isMember(recovered)) revert UnauthorizedSigner(i, recovered);
        }
        revert SignerSetMismatch(committed);
    }

    function _failStale(uint256 w, uint256 d, uint256 lastSeen) private pure {
        for (uint256 i = 0;; ++i) {
            (,,, uint256 ts) = _observation(i, w, d);
            if (ts <= lastSeen) revert StaleObservation(i, uint64(ts), uint64(lastSeen));
        }
    }

    function _failFuture(uint256 w, uint256 d) private view {
        for (uint256 i = 0;; ++i) {
            (,,, uint256 ts) = _observation(i, w, d);
            if (ts > block.timestamp + MAX_FUTURE_DRIFT) {
                revert TimestampTooFarInFuture(i, uint64(ts), block.timestamp + MAX_FUTURE_DRIFT);
            }
        }
    }

    function _isMember(address signer) private view returns (bool) {
        address[] storage set = s_signers;
        for (uint256 j = 0; j < set.length; ++j) {
            if (set[j] == signer) return true;
        }
        return false;
    }

    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this)));
    }

    function _setSigners(address[] memory signers_, uint8 quorum_) private {
        uint256 count = signers_.length;
        if (count > MAX_SIGNERS) revert TooManySigners(count, MAX_SIGNERS);
        if (quorum_ == 0 || quorum_ > count) revert InvalidQuorum(quorum_, count);
        for (uint256 i = 0; i < count; ++i) {
            address signer = signers_[i];
            if (signer == address(0)) revert ZeroAddressSigner();
            for (uint256 j = 0; j < i; ++j) {
                if (signers_[j] == signer) revert SignerListedTwice(signer);
            }
        }
        // encodePacked pads each array element to 32 bytes: the set as `_verify` rebuilds it.
        bytes20 commitment = bytes20(keccak256(abi.encodePacked(signers_)));
        s_signers = signers_;
        uint256 header = s_header;
        s_header = (header & ~((uint256(1) << ROUND_SHIFT) - 1)) | (uint256(quorum_) << QUORUM_SHIFT)
            | uint256(uint160(commitment));
        emit SignersSet(signers_, quorum_, commitment);
    }
}
