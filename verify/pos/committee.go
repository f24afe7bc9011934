// Code generated - DO NOT EDIT.
// This file is a generated binding and any manual changes will be lost.

package pos

import (
	"context"
	"errors"
	"math/big"
	"strings"
	"time"

	ethereum "github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/event"
)

// Reference imports to suppress errors if they are not otherwise used.
var (
	_ = errors.New
	_ = big.NewInt
	_ = strings.NewReader
	_ = ethereum.NotFound
	_ = bind.Bind
	_ = common.Big1
	_ = types.BloomLookup
	_ = event.NewSubscription
	_ = abi.ConvertType
	_ = time.Tick
	_ = context.Background
)

// CommitteeMetaData contains all meta data concerning the Committee contract.
var CommitteeMetaData = &bind.MetaData{
	ABI: "[{\"type\":\"function\",\"name\":\"getCommittee\",\"stateMutability\":\"view\",\"inputs\":[],\"outputs\":[{\"name\":\"addrs\",\"type\":\"address[]\"},{\"name\":\"weights\",\"type\":\"uint256[]\"},{\"name\":\"certification\",\"type\":\"bool[]\"}]},{\"type\":\"function\",\"name\":\"getCommitteeStats\",\"stateMutability\":\"view\",\"inputs\":[],\"outputs\":[{\"name\":\"generalCommitteeSize\",\"type\":\"uint256\"},{\"name\":\"certifiedCommitteeSize\",\"type\":\"uint256\"},{\"name\":\"totalWeight\",\"type\":\"uint256\"}]},{\"type\":\"event\",\"name\":\"CommitteeChange\",\"anonymous\":false,\"inputs\":[{\"name\":\"addr\",\"type\":\"address\",\"indexed\":true},{\"name\":\"weight\",\"type\":\"uint256\",\"indexed\":false},{\"name\":\"certification\",\"type\":\"bool\",\"indexed\":false},{\"name\":\"inCommittee\",\"type\":\"bool\",\"indexed\":false}]},{\"type\":\"event\",\"name\":\"CommitteeSnapshot\",\"anonymous\":false,\"inputs\":[{\"name\":\"addrs\",\"type\":\"address[]\",\"indexed\":false},{\"name\":\"weights\",\"type\":\"uint256[]\",\"indexed\":false},{\"name\":\"certification\",\"type\":\"bool[]\",\"indexed\":false}]}]",
}

// CommitteeABI is the input ABI used to generate the binding from.
// Deprecated: Use CommitteeMetaData.ABI instead.
var CommitteeABI = CommitteeMetaData.ABI

// Committee is an auto generated Go binding around an Ethereum contract.
type Committee struct {
	CommitteeCaller     // Read-only binding to the contract
	CommitteeTransactor // Write-only binding to the contract
	CommitteeFilterer   // Log filterer for contract events
}

// CommitteeCaller is an auto generated read-only Go binding around an Ethereum contract.
type CommitteeCaller struct {
	contract *bind.BoundContract // Generic contract wrapper for the low level calls
}

// CommitteeTransactor is an auto generated write-only Go binding around an Ethereum contract.
type CommitteeTransactor struct {
	contract *bind.BoundContract // Generic contract wrapper for the low level calls
}

// CommitteeFilterer is an auto generated log filtering Go binding around an Ethereum contract events.
type CommitteeFilterer struct {
	contract *bind.BoundContract // Generic contract wrapper for the low level calls
}

// CommitteeSession is an auto generated Go binding around an Ethereum contract,
// with pre-set call and transact options.
type CommitteeSession struct {
	Contract     *Committee        // Generic contract binding to set the session for
	CallOpts     bind.CallOpts     // Call options to use throughout this session
	TransactOpts bind.TransactOpts // Transaction auth options to use throughout this session
}

// CommitteeCallerSession is an auto generated read-only Go binding around an Ethereum contract,
// with pre-set call options.
type CommitteeCallerSession struct {
	Contract *CommitteeCaller // Generic contract caller binding to set the session for
	CallOpts bind.CallOpts    // Call options to use throughout this session
}

// CommitteeTransactorSession is an auto generated write-only Go binding around an Ethereum contract,
// with pre-set transact options.
type CommitteeTransactorSession struct {
	Contract     *CommitteeTransactor // Generic contract transactor binding to set the session for
	TransactOpts bind.TransactOpts    // Transaction auth options to use throughout this session
}

// CommitteeRaw is an auto generated low-level Go binding around an Ethereum contract.
type CommitteeRaw struct {
	Contract *Committee // Generic contract binding to access the raw methods on
}

// CommitteeCallerRaw is an auto generated low-level read-only Go binding around an Ethereum contract.
type CommitteeCallerRaw struct {
	Contract *CommitteeCaller // Generic read-only contract binding to access the raw methods on
}

// CommitteeTransactorRaw is an auto generated low-level write-only Go binding around an Ethereum contract.
type CommitteeTransactorRaw struct {
	Contract *CommitteeTransactor // Generic write-only contract binding to access the raw methods on
}

// NewCommittee creates a new instance of Committee, bound to a specific deployed contract.
func NewCommittee(address common.Address, backend bind.ContractBackend) (*Committee, error) {
	contract, err := bindCommittee(address, backend, backend, backend)
	if err != nil {
		return nil, err
	}
	return &Committee{CommitteeCaller: CommitteeCaller{contract: contract}, CommitteeTransactor: CommitteeTransactor{contract: contract}, CommitteeFilterer: CommitteeFilterer{contract: contract}}, nil
}

// NewCommitteeCaller creates a new read-only instance of Committee, bound to a specific deployed contract.
func NewCommitteeCaller(address common.Address, caller bind.ContractCaller) (*CommitteeCaller, error) {
	contract, err := bindCommittee(address, caller, nil, nil)
	if err != nil {
		return nil, err
	}
	return &CommitteeCaller{contract: contract}, nil
}

// NewCommitteeTransactor creates a new write-only instance of Committee, bound to a specific deployed contract.
func NewCommitteeTransactor(address common.Address, transactor bind.ContractTransactor) (*CommitteeTransactor, error) {
	contract, err := bindCommittee(address, nil, transactor, nil)
	if err != nil {
		return nil, err
	}
	return &CommitteeTransactor{contract: contract}, nil
}

// NewCommitteeFilterer creates a new log filterer instance of Committee, bound to a specific deployed contract.
func NewCommitteeFilterer(address common.Address, filterer bind.ContractFilterer) (*CommitteeFilterer, error) {
	contract, err := bindCommittee(address, nil, nil, filterer)
	if err != nil {
		return nil, err
	}
	return &CommitteeFilterer{contract: contract}, nil
}

// bindCommittee binds a generic wrapper to an already deployed contract.
func bindCommittee(address common.Address, caller bind.ContractCaller, transactor bind.ContractTransactor, filterer bind.ContractFilterer) (*bind.BoundContract, error) {
	parsed, err := CommitteeMetaData.GetAbi()
	if err != nil {
		return nil, err
	}
	return bind.NewBoundContract(address, *parsed, caller, transactor, filterer), nil
}

// Call invokes the (constant) contract method with params as input values and
// sets the output to result. The result type might be a single field for simple
// returns, a slice of interfaces for anonymous returns and a struct for named
// returns.
func (_Committee *CommitteeRaw) Call(opts *bind.CallOpts, result *[]interface{}, method string, params ...interface{}) error {
	return _Committee.Contract.CommitteeCaller.contract.Call(opts, result, method, params...)
}

// Transfer initiates a plain transaction to move funds to the contract, calling
// its default method if one is available.
func (_Committee *CommitteeRaw) Transfer(opts *bind.TransactOpts) (*types.Transaction, error) {
	return _Committee.Contract.CommitteeTransactor.contract.Transfer(opts)
}

// Transact invokes the (paid) contract method with params as input values.
func (_Committee *CommitteeRaw) Transact(opts *bind.TransactOpts, method string, params ...interface{}) (*types.Transaction, error) {
	return _Committee.Contract.CommitteeTransactor.contract.Transact(opts, method, params...)
}

// Call invokes the (constant) contract method with params as input values and
// sets the output to result. The result type might be a single field for simple
// returns, a slice of interfaces for anonymous returns and a struct for named
// returns.
func (_Committee *CommitteeCallerRaw) Call(opts *bind.CallOpts, result *[]interface{}, method string, params ...interface{}) error {
	return _Committee.Contract.contract.Call(opts, result, method, params...)
}

// Transfer initiates a plain transaction to move funds to the contract, calling
// its default method if one is available.
func (_Committee *CommitteeTransactorRaw) Transfer(opts *bind.TransactOpts) (*types.Transaction, error) {
	return _Committee.Contract.contract.Transfer(opts)
}

// Transact invokes the (paid) contract method with params as input values.
func (_Committee *CommitteeTransactorRaw) Transact(opts *bind.TransactOpts, method string, params ...interface{}) (*types.Transaction, error) {
	return _Committee.Contract.contract.Transact(opts, method, params...)
}

// GetCommittee is a free data retrieval call binding the contract method 0xab8f6ffe.
//
// Solidity: function getCommittee() view returns(address[] addrs, uint256[] weights, bool[] certification)
func (_Committee *CommitteeCaller) GetCommittee(opts *bind.CallOpts) (struct {
	Addrs         []common.Address
	Weights       []*big.Int
	Certification []bool
}, error) {
	var out []interface{}
	err := _Committee.contract.Call(opts, &out, "getCommittee")

	outstruct := new(struct {
		Addrs         []common.Address
		Weights       []*big.Int
		Certification []bool
	})
	if err != nil {
		return *outstruct, err
	}

	outstruct.Addrs = *abi.ConvertType(out[0], new([]common.Address)).(*[]common.Address)
	outstruct.Weights = *abi.ConvertType(out[1], new([]*big.Int)).(*[]*big.Int)
	outstruct.Certification = *abi.ConvertType(out[2], new([]bool)).(*[]bool)

	return *outstruct, err

}

// GetCommittee is a free data retrieval call binding the contract method 0xab8f6ffe.
//
// Solidity: function getCommittee() view returns(address[] addrs, uint256[] weights, bool[] certification)
func (_Committee *CommitteeSession) GetCommittee() (struct {
	Addrs         []common.Address
	Weights       []*big.Int
	Certification []bool
}, error) {
	return _Committee.Contract.GetCommittee(&_Committee.CallOpts)
}

// GetCommittee is a free data retrieval call binding the contract method 0xab8f6ffe.
//
// Solidity: function getCommittee() view returns(address[] addrs, uint256[] weights, bool[] certification)
func (_Committee *CommitteeCallerSession) GetCommittee() (struct {
	Addrs         []common.Address
	Weights       []*big.Int
	Certification []bool
}, error) {
	return _Committee.Contract.GetCommittee(&_Committee.CallOpts)
}

// GetCommitteeStats is a free data retrieval call binding the contract method 0x46cc116a.
//
// Solidity: function getCommitteeStats() view returns(uint256 generalCommitteeSize, uint256 certifiedCommitteeSize, uint256 totalWeight)
func (_Committee *CommitteeCaller) GetCommitteeStats(opts *bind.CallOpts) (struct {
	GeneralCommitteeSize   *big.Int
	CertifiedCommitteeSize *big.Int
	TotalWeight            *big.Int
}, error) {
	var out []interface{}
	err := _Committee.contract.Call(opts, &out, "getCommitteeStats")

	outstruct := new(struct {
		GeneralCommitteeSize   *big.Int
		CertifiedCommitteeSize *big.Int
		TotalWeight            *big.Int
	})
	if err != nil {
		return *outstruct, err
	}

	outstruct.GeneralCommitteeSize = *abi.ConvertType(out[0], new(*big.Int)).(**big.Int)
	outstruct.CertifiedCommitteeSize = *abi.ConvertType(out[1], new(*big.Int)).(**big.Int)
	outstruct.TotalWeight = *abi.ConvertType(out[2], new(*big.Int)).(**big.Int)

	return *outstruct, err

}

// GetCommitteeStats is a free data retrieval call binding the contract method 0x46cc116a.
//
// Solidity: function getCommitteeStats() view returns(uint256 generalCommitteeSize, uint256 certifiedCommitteeSize, uint256 totalWeight)
func (_Committee *CommitteeSession) GetCommitteeStats() (struct {
	GeneralCommitteeSize   *big.Int
	CertifiedCommitteeSize *big.Int
	TotalWeight            *big.Int
}, error) {
	return _Committee.Contract.GetCommitteeStats(&_Committee.CallOpts)
}

// GetCommitteeStats is a free data retrieval call binding the contract method 0x46cc116a.
//
// Solidity: function getCommitteeStats() view returns(uint256 generalCommitteeSize, uint256 certifiedCommitteeSize, uint256 totalWeight)
func (_Committee *CommitteeCallerSession) GetCommitteeStats() (struct {
	GeneralCommitteeSize   *big.Int
	CertifiedCommitteeSize *big.Int
	TotalWeight            *big.Int
}, error) {
	return _Committee.Contract.GetCommitteeStats(&_Committee.CallOpts)
}

// CommitteeCommitteeChangeIterator is returned from FilterCommitteeChange and is used to iterate over the raw logs and unpacked data for CommitteeChange events raised by the Committee contract.
type CommitteeCommitteeChangeIterator struct {
	Event *CommitteeCommitteeChange // Event containing the contract specifics and raw log

	contract *bind.BoundContract // Generic contract to use for unpacking event data
	event    string              // Event name to use for unpacking event data

	logs chan types.Log        // Log channel receiving the found contract events
	sub  ethereum.Subscription // Subscription for errors, completion and termination
	done bool                  // Whether the subscription completed delivering logs
	fail error                 // Occurred error to stop iteration
}

// Next advances the iterator to the subsequent event, returning whether there
// are any more events found. In case of a retrieval or parsing error, false is
// returned and Error() can be queried for the exact failure.
func (it *CommitteeCommitteeChangeIterator) Next() bool {
	// If the iterator failed, stop iterating
	if it.fail != nil {
		return false
	}
	// If the iterator completed, deliver directly whatever's available
	if it.done {
		select {
		case log := <-it.logs:
			it.Event = new(CommitteeCommitteeChange)
			if err := it.contract.UnpackLog(it.Event, it.event, log); err != nil {
				it.fail = err
				return false
			}
			it.Event.Raw = log
			return true

		default:
			return false
		}
	}
	// Iterator still in progress, wait for either a data or an error event
	select {
	case log := <-it.logs:
		it.Event = new(CommitteeCommitteeChange)
		if err := it.contract.UnpackLog(it.Event, it.event, log); err != nil {
			it.fail = err
			return false
		}
		it.Event.Raw = log
		return true

	case err := <-it.sub.Err():
		it.done = true
		it.fail = err
		return it.Next()
	}
}

// Error returns any retrieval or parsing error occurred during filtering.
func (it *CommitteeCommitteeChangeIterator) Error() error {
	return it.fail
}

// Close terminates the iteration process, releasing any pending underlying
// resources.
func (it *CommitteeCommitteeChangeIterator) Close() error {
	it.sub.Unsubscribe()
	return nil
}

// CommitteeCommitteeChange represents a CommitteeChange event raised by the Committee contract.
type CommitteeCommitteeChange struct {
	Addr          common.Address
	Weight        *big.Int
	Certification bool
	InCommittee   bool
	Raw           types.Log // Blockchain specific contextual infos
}

// FilterCommitteeChange is a free log retrieval operation binding the contract event 0xb5da830bb76a930eaf5d2544578c75dd9c1bd6146b894a51c9314464300fadde.
//
// Solidity: event CommitteeChange(address indexed addr, uint256 weight, bool certification, bool inCommittee)
func (_Committee *CommitteeFilterer) FilterCommitteeChange(opts *bind.FilterOpts, addr []common.Address) (*CommitteeCommitteeChangeIterator, error) {

	var addrRule []interface{}
	for _, addrItem := range addr {
		addrRule = append(addrRule, addrItem)
	}

	logs, sub, err := _Committee.contract.FilterLogs(opts, "CommitteeChange", addrRule)
	if err != nil {
		return nil, err
	}
	return &CommitteeCommitteeChangeIterator{contract: _Committee.contract, event: "CommitteeChange", logs: logs, sub: sub}, nil
}

// WatchCommitteeChange is a free log subscription operation binding the contract event 0xb5da830bb76a930eaf5d2544578c75dd9c1bd6146b894a51c9314464300fadde.
//
// Solidity: event CommitteeChange(address indexed addr, uint256 weight, bool certification, bool inCommittee)
func (_Committee *CommitteeFilterer) WatchCommitteeChange(opts *bind.WatchOpts, sink chan<- *CommitteeCommitteeChange, addr []common.Address) (event.Subscription, error) {

	var addrRule []interface{}
	for _, addrItem := range addr {
		addrRule = append(addrRule, addrItem)
	}

	logs, sub, err := _Committee.contract.WatchLogs(opts, "CommitteeChange", addrRule)
	if err != nil {
		return nil, err
	}
	return event.NewSubscription(func(quit <-chan struct{}) error {
		defer sub.Unsubscribe()
		for {
			select {
			case log := <-logs:
				// New log arrived, parse the event and forward to the user
				event := new(CommitteeCommitteeChange)
				if err := _Committee.contract.UnpackLog(event, "CommitteeChange", log); err != nil {
					// If the signature doesn't match, skip this log.
					if errors.Is(err, bind.ErrEventSignatureMismatch) {
						continue
					}
					return err
				}
				event.Raw = log

				select {
				case sink <- event:
				case err := <-sub.Err():
					return err
				case <-quit:
					return nil
				}
			case err := <-sub.Err():
				return err
			case <-quit:
				return nil
			}
		}
	}), nil
}

// ParseCommitteeChange is a log parse operation binding the contract event 0xb5da830bb76a930eaf5d2544578c75dd9c1bd6146b894a51c9314464300fadde.
//
// Solidity: event CommitteeChange(address indexed addr, uint256 weight, bool certification, bool inCommittee)
func (_Committee *CommitteeFilterer) ParseCommitteeChange(log types.Log) (*CommitteeCommitteeChange, error) {
	event := new(CommitteeCommitteeChange)
	if err := _Committee.contract.UnpackLog(event, "CommitteeChange", log); err != nil {
		return nil, err
	}
	event.Raw = log
	return event, nil
}

// CommitteeCommitteeSnapshotIterator is returned from FilterCommitteeSnapshot and is used to iterate over the raw logs and unpacked data for CommitteeSnapshot events raised by the Committee contract.
type CommitteeCommitteeSnapshotIterator struct {
	Event *CommitteeCommitteeSnapshot // Event containing the contract specifics and raw log

	contract *bind.BoundContract // Generic contract to use for unpacking event data
	event    string              // Event name to use for unpacking event data

	logs chan types.Log        // Log channel receiving the found contract events
	sub  ethereum.Subscription // Subscription for errors, completion and termination
	done bool                  // Whether the subscription completed delivering logs
	fail error                 // Occurred error to stop iteration
}

// Next advances the iterator to the subsequent event, returning whether there
// are any more events found. In case of a retrieval or parsing error, false is
// returned and Error() can be queried for the exact failure.
func (it *CommitteeCommitteeSnapshotIterator) Next() bool {
	// If the iterator failed, stop iterating
	if it.fail != nil {
		return false
	}
	// If the iterator completed, deliver directly whatever's available
	if it.done {
		select {
		case log := <-it.logs:
			it.Event = new(CommitteeCommitteeSnapshot)
			if err := it.contract.UnpackLog(it.Event, it.event, log); err != nil {
				it.fail = err
				return false
			}
			it.Event.Raw = log
			return true

		default:
			return false
		}
	}
	// Iterator still in progress, wait for either a data or an error event
	select {
	case log := <-it.logs:
		it.Event = new(CommitteeCommitteeSnapshot)
		if err := it.contract.UnpackLog(it.Event, it.event, log); err != nil {
			it.fail = err
			return false
		}
		it.Event.Raw = log
		return true

	case err := <-it.sub.Err():
		it.done = true
		it.fail = err
		return it.Next()
	}
}

// Error returns any retrieval or parsing error occurred during filtering.
func (it *CommitteeCommitteeSnapshotIterator) Error() error {
	return it.fail
}

// Close terminates the iteration process, releasing any pending underlying
// resources.
func (it *CommitteeCommitteeSnapshotIterator) Close() error {
	it.sub.Unsubscribe()
	return nil
}

// CommitteeCommitteeSnapshot represents a CommitteeSnapshot event raised by the Committee contract.
type CommitteeCommitteeSnapshot struct {
	Addrs         []common.Address
	Weights       []*big.Int
	Certification []bool
	Raw           types.Log // Blockchain specific contextual infos
}

// FilterCommitteeSnapshot is a free log retrieval operation binding the contract event 0x7f22234ba646c761dbcee1532d786b29596f3dc00717dc2d6a37ff20d33618c6.
//
// Solidity: event CommitteeSnapshot(address[] addrs, uint256[] weights, bool[] certification)
func (_Committee *CommitteeFilterer) FilterCommitteeSnapshot(opts *bind.FilterOpts) (*CommitteeCommitteeSnapshotIterator, error) {

	logs, sub, err := _Committee.contract.FilterLogs(opts, "CommitteeSnapshot")
	if err != nil {
		return nil, err
	}
	return &CommitteeCommitteeSnapshotIterator{contract: _Committee.contract, event: "CommitteeSnapshot", logs: logs, sub: sub}, nil
}

// WatchCommitteeSnapshot is a free log subscription operation binding the contract event 0x7f22234ba646c761dbcee1532d786b29596f3dc00717dc2d6a37ff20d33618c6.
//
// Solidity: event CommitteeSnapshot(address[] addrs, uint256[] weights, bool[] certification)
func (_Committee *CommitteeFilterer) WatchCommitteeSnapshot(opts *bind.WatchOpts, sink chan<- *CommitteeCommitteeSnapshot) (event.Subscription, error) {

	logs, sub, err := _Committee.contract.WatchLogs(opts, "CommitteeSnapshot")
	if err != nil {
		return nil, err
	}
	return event.NewSubscription(func(quit <-chan struct{}) error {
		defer sub.Unsubscribe()
		for {
			select {
			case log := <-logs:
				// New log arrived, parse the event and forward to the user
				event := new(CommitteeCommitteeSnapshot)
				if err := _Committee.contract.UnpackLog(event, "CommitteeSnapshot", log); err != nil {
					// If the signature doesn't match, skip this log.
					if errors.Is(err, bind.ErrEventSignatureMismatch) {
						continue
					}
					return err
				}
				event.Raw = log

				select {
				case sink <- event:
				case err := <-sub.Err():
					return err
				case <-quit:
					return nil
				}
			case err := <-sub.Err():
				return err
			case <-quit:
				return nil
			}
		}
	}), nil
}

// ParseCommitteeSnapshot is a log parse operation binding the contract event 0x7f22234ba646c761dbcee1532d786b29596f3dc00717dc2d6a37ff20d33618c6.
//
// Solidity: event CommitteeSnapshot(address[] addrs, uint256[] weights, bool[] certification)
func (_Committee *CommitteeFilterer) ParseCommitteeSnapshot(log types.Log) (*CommitteeCommitteeSnapshot, error) {
	event := new(CommitteeCommitteeSnapshot)
	if err := _Committee.contract.UnpackLog(event, "CommitteeSnapshot", log); err != nil {
		return nil, err
	}
	event.Raw = log
	return event, nil
}
