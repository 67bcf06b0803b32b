// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title FeedBase: what every OracleFeed contract shares, whatever its signature scheme.
/// @notice Chainlink's AggregatorV3Interface reads (decimals, description, version,
/// getRoundData, latestRoundData), the round history, ownership and the one header slot.
/// A concrete feed verifies reports in its `fallback` and stores the result with `_record`.
///
/// Header slot: [ commitment:160 | quorum:8 | latestRoundId:40 | latestObservationTs:48 ].
/// The commitment is the scheme's 160-bit hash of its signer set. Each round is one slot of a
/// 128-round ring, so a steady-state update writes exactly two storage slots.
abstract contract FeedBase {
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
    bytes32 private constant NAME_HASH = keccak256("OracleFeed");
    bytes32 private constant VERSION_HASH = keccak256("1");

    // [format][n][m][w][d][base: 8 bytes], shared by every report format.
    uint256 internal constant REPORT_HEADER_BYTES = 13;
    uint256 internal constant MAX_VALUE_BYTES = 24;
    uint256 internal constant MAX_DELTA_BYTES = 7;
    uint256 internal constant MASK_64 = (1 << 64) - 1;

    uint256 internal constant QUORUM_SHIFT = 160;
    uint256 internal constant ROUND_SHIFT = 168;
    uint256 internal constant TS_SHIFT = 208;
    uint256 internal constant MASK_160 = (1 << 160) - 1;
    uint256 internal constant MASK_40 = (1 << 40) - 1;

    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
    event NewRound(uint256 indexed roundId, address indexed startedBy, uint256 startedAt);
    event QuorumSet(uint8 quorum);
    event OwnershipTransferRequested(address indexed from, address indexed to);
    event OwnershipTransferred(address indexed from, address indexed to);

    error NoDataPresent();
    error RoundNotAvailable(uint80 roundId);
    error MalformedReport(uint256 length);
    error SignerSetMismatch(bytes20 committed);
    error NotEnoughObservations(uint256 given, uint8 quorum);
    error ValuesNotSorted(uint256 index);
    error StaleObservation(uint256 index, uint64 timestamp, uint64 latestObservationTimestamp);
    error TimestampTooFarInFuture(uint256 index, uint64 timestamp, uint256 maxAllowed);
    error InvalidQuorum(uint8 quorum, uint256 signerCount);
    error TooManySigners(uint256 count, uint256 max);
    error NotOwner(address caller);
    error NotPendingOwner(address caller);

    uint8 public immutable decimals;
    uint256 private immutable CACHED_CHAIN_ID;
    bytes32 private immutable CACHED_DOMAIN_SEPARATOR;
    /// @notice Whether each update emits NewRound besides AnswerUpdated (1,756 gas): Chainlink's
    /// OCR aggregators emit both; a feed whose readers index AnswerUpdated only may skip it.
    bool public immutable emitsNewRound;

    /// @dev The only slot a report's verification reads: see the header layout above.
    uint256 internal s_header;
    Round[ROUND_HISTORY] private s_rounds;

    address public owner;
    address public pendingOwner;
    string public description;

    constructor(uint8 decimals_, string memory description_, bool emitsNewRound_) {
        emitsNewRound = emitsNewRound_;
        decimals = decimals_;
        description = description_;
        owner = msg.sender;
        CACHED_CHAIN_ID = block.chainid;
        CACHED_DOMAIN_SEPARATOR = _buildDomainSeparator();
        emit OwnershipTransferred(address(0), msg.sender);
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// @notice Change the quorum only; 1 <= quorum <= number of signers.
    function setQuorum(uint8 quorum_) external onlyOwner {
        uint256 count = _signerCount();
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

    /// @notice The scheme's 160-bit commitment to the signer set.
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

    /// @dev The number of members in the signer set.
    function _signerCount() internal view virtual returns (uint256);

    /// @dev Store `answer` as the next round, stamped `oldest` (updatedAt = startedAt: the
    /// report's oldest observation, so a staleness check never overstates freshness), remember
    /// `newest` as the latest observation timestamp, and emit Chainlink's events.
    function _record(uint256 header, int256 answer, uint256 oldest, uint256 newest) internal {
        bytes32 newRound = NewRound.selector;
        bool emitNewRound = emitsNewRound;
        bytes32 answerUpdated = AnswerUpdated.selector;
        assembly {
            let next := add(and(shr(ROUND_SHIFT, header), MASK_40), 1)
            sstore(s_header.slot, or(and(header, sub(shl(ROUND_SHIFT, 1), 1)), or(shl(ROUND_SHIFT, next), shl(TS_SHIFT, newest))))
            sstore(add(s_rounds.slot, mod(next, ROUND_HISTORY)), or(shl(192, oldest), and(answer, 0xffffffffffffffffffffffffffffffffffffffffffffffff)))
            mstore(0x00, oldest)
            if emitNewRound { log3(0x00, 0x20, newRound, next, caller()) }
            log3(0x00, 0x20, answerUpdated, answer, next)
        }
    }

    /// @dev Refuse a set of `count` members with quorum `quorum_` that reports cannot serve.
    function _checkSetSize(uint256 count, uint8 quorum_) internal pure {
        if (count > MAX_SIGNERS) revert TooManySigners(count, MAX_SIGNERS);
        if (quorum_ == 0 || quorum_ > count) revert InvalidQuorum(quorum_, count);
    }

    /// @dev Commit a new signer set and quorum; the latest round and timestamp stay.
    function _commitSet(bytes20 commitment, uint8 quorum_) internal {
        uint256 header = s_header;
        s_header = (header & ~((uint256(1) << ROUND_SHIFT) - 1)) | (uint256(quorum_) << QUORUM_SHIFT)
            | uint256(uint160(commitment));
    }

    /// @dev The report header's fields: [format][n][m][w][d][base: 8 bytes].
    function _reportHeader()
        internal
        pure
        returns (uint256 n, uint256 m, uint256 w, uint256 d, uint256 base)
    {
        assembly {
            let lead := calldataload(0)
            n := byte(1, lead)
            m := byte(2, lead)
            w := byte(3, lead)
            d := byte(4, lead)
            base := and(shr(152, lead), MASK_64)
        }
    }

    function _roundData(uint80 roundId)
        private
        view
        returns (uint80, int256, uint256, uint256, uint80)
    {
        Round memory r = s_rounds[roundId % ROUND_HISTORY];
        return (roundId, r.answer, r.updatedAt, r.updatedAt, roundId);
    }

    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this)));
    }
}
