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

// GuardiansRegistrationMetaData contains all meta data concerning the GuardiansRegistration contract.
var GuardiansRegistrationMetaData = &bind.MetaData{
	ABI: "[{\"type\":\"function\",\"name\":\"getGuardiansOrbsAddress\",\"stateMutability\":\"view\",\"inputs\":[{\"name\":\"guardianAddrs\",\"type\":\"address[]\"}],\"outputs\":[{\"name\":\"orbsAddrs\",\"type\":\"address[]\"}]},{\"type\":\"event\",\"name\":\"GuardianRegistered\",\"anonymous\":false,\"inputs\":[{\"name\":\"guardian\",\"type\":\"address\",\"indexed\":true}]},{\"type\":\"event\",\"name\":\"GuardianUnregistered\",\"anonymous\":false,\"inputs\":[{\"name\":\"guardian\",\"type\":\"address\",\"indexed\":true}]},{\"type\":\"event\",\"name\":\"GuardianDataUpdated\",\"anonymous\":false,\"inputs\":[{\"name\":\"guardian\",\"type\":\"address\",\"indexed\":true},{\"name\":\"isRegistered\",\"type\":\"bool\",\"indexed\":false},{\"name\":\"ip\",\"type\":\"bytes4\",\"indexed\":false},{\"name\":\"orbsAddr\",\"type\":\"address\",\"indexed\":false},{\"name\":\"name\",\"type\":\"string\",\"indexed\":false},{\"name\":\"website\",\"type\":\"string\",\"indexed\":false},{\"name\":\"registrationTime\",\"type\":\"uint256\",\"indexed\":false}]}]",
}

// GuardiansRegistrationABI is the input ABI used to generate the binding from.
// Deprecated: Use GuardiansRegistrationMetaData.ABI instead.
var GuardiansRegistrationABI = GuardiansRegistrationMetaData.ABI

// GuardiansRegistration is an auto generated Go binding around an Ethereum contract.
type GuardiansRegistration struct {
	GuardiansRegistrationCaller     // Read-only binding to the contract
	GuardiansRegistrationTransactor // Write-only binding to the contract
	GuardiansRegistrationFilterer   // Log filterer for contract events
}

// GuardiansRegistrationCaller is an auto generated read-only Go binding around an Ethereum contract.
type GuardiansRegistrationCaller struct {
	contract *bind.BoundContract // Generic contract wrapper for the low level calls
}

// GuardiansRegistrationTransactor is an auto generated write-only Go binding around an Ethereum contract.
type GuardiansRegistrationTransactor struct {
	contract *bind.BoundContract // Generic contract wrapper for the low level calls
}

// GuardiansRegistrationFilterer is an auto generated log filtering Go binding around an Ethereum contract events.
type GuardiansRegistrationFilterer struct {
	contract *bind.BoundContract // Generic contract wrapper for the low level calls
}

// GuardiansRegistrationSession is an auto generated Go binding around an Ethereum contract,
// with pre-set call and transact options.
type GuardiansRegistrationSession struct {
	Contract     *GuardiansRegistration // Generic contract binding to set the session for
	CallOpts     bind.CallOpts          // Call options to use throughout this session
	TransactOpts bind.TransactOpts      // Transaction auth options to use throughout this session
}

// GuardiansRegistrationCallerSession is an auto generated read-only Go binding around an Ethereum contract,
// with pre-set call options.
type GuardiansRegistrationCallerSession struct {
	Contract *GuardiansRegistrationCaller // Generic contract caller binding to set the session for
	CallOpts bind.CallOpts                // Call options to use throughout this session
}

// GuardiansRegistrationTransactorSession is an auto generated write-only Go binding around an Ethereum contract,
// with pre-set transact options.
type GuardiansRegistrationTransactorSession struct {
	Contract     *GuardiansRegistrationTransactor // Generic contract transactor binding to set the session for
	TransactOpts bind.TransactOpts                // Transaction auth options to use throughout this session
}

// GuardiansRegistrationRaw is an auto generated low-level Go binding around an Ethereum contract.
type GuardiansRegistrationRaw struct {
	Contract *GuardiansRegistration // Generic contract binding to access the raw methods on
}

// GuardiansRegistrationCallerRaw is an auto generated low-level read-only Go binding around an Ethereum contract.
type GuardiansRegistrationCallerRaw struct {
	Contract *GuardiansRegistrationCaller // Generic read-only contract binding to access the raw methods on
}

// GuardiansRegistrationTransactorRaw is an auto generated low-level write-only Go binding around an Ethereum contract.
type GuardiansRegistrationTransactorRaw struct {
	Contract *GuardiansRegistrationTransactor // Generic write-only contract binding to access the raw methods on
}

// NewGuardiansRegistration creates a new instance of GuardiansRegistration, bound to a specific deployed contract.
func NewGuardiansRegistration(address common.Address, backend bind.ContractBackend) (*GuardiansRegistration, error) {
	contract, err := bindGuardiansRegistration(address, backend, backend, backend)
	if err != nil {
		return nil, err
	}
	return &GuardiansRegistration{GuardiansRegistrationCaller: GuardiansRegistrationCaller{contract: contract}, GuardiansRegistrationTransactor: GuardiansRegistrationTransactor{contract: contract}, GuardiansRegistrationFilterer: GuardiansRegistrationFilterer{contract: contract}}, nil
}

// NewGuardiansRegistrationCaller creates a new read-only instance of GuardiansRegistration, bound to a specific deployed contract.
func NewGuardiansRegistrationCaller(address common.Address, caller bind.ContractCaller) (*GuardiansRegistrationCaller, error) {
	contract, err := bindGuardiansRegistration(address, caller, nil, nil)
	if err != nil {
		return nil, err
	}
	return &GuardiansRegistrationCaller{contract: contract}, nil
}

// NewGuardiansRegistrationTransactor creates a new write-only instance of GuardiansRegistration, bound to a specific deployed contract.
func NewGuardiansRegistrationTransactor(address common.Address, transactor bind.ContractTransactor) (*GuardiansRegistrationTransactor, error) {
	contract, err := bindGuardiansRegistration(address, nil, transactor, nil)
	if err != nil {
		return nil, err
	}
	return &GuardiansRegistrationTransactor{contract: contract}, nil
}

// NewGuardiansRegistrationFilterer creates a new log filterer instance of GuardiansRegistration, bound to a specific deployed contract.
func NewGuardiansRegistrationFilterer(address common.Address, filterer bind.ContractFilterer) (*GuardiansRegistrationFilterer, error) {
	contract, err := bindGuardiansRegistration(address, nil, nil, filterer)
	if err != nil {
		return nil, err
	}
	return &GuardiansRegistrationFilterer{contract: contract}, nil
}

// bindGuardiansRegistration binds a generic wrapper to an already deployed contract.
func bindGuardiansRegistration(address common.Address, caller bind.ContractCaller, transactor bind.ContractTransactor, filterer bind.ContractFilterer) (*bind.BoundContract, error) {
	parsed, err := GuardiansRegistrationMetaData.GetAbi()
	if err != nil {
		return nil, err
	}
	return bind.NewBoundContract(address, *parsed, caller, transactor, filterer), nil
}

// Call invokes the (constant) contract method with params as input values and
// sets the output to result. The result type might be a single field for simple
// returns, a slice of interfaces for anonymous returns and a struct for named
// returns.
func (_GuardiansRegistration *GuardiansRegistrationRaw) Call(opts *bind.CallOpts, result *[]interface{}, method string, params ...interface{}) error {
	return _GuardiansRegistration.Contract.GuardiansRegistrationCaller.contract.Call(opts, result, method, params...)
}

// Transfer initiates a plain transaction to move funds to the contract, calling
// its default method if one is available.
func (_GuardiansRegistration *GuardiansRegistrationRaw) Transfer(opts *bind.TransactOpts) (*types.Transaction, error) {
	return _GuardiansRegistration.Contract.GuardiansRegistrationTransactor.contract.Transfer(opts)
}

// Transact invokes the (paid) contract method with params as input values.
func (_GuardiansRegistration *GuardiansRegistrationRaw) Transact(opts *bind.TransactOpts, method string, params ...interface{}) (*types.Transaction, error) {
	return _GuardiansRegistration.Contract.GuardiansRegistrationTransactor.contract.Transact(opts, method, params...)
}

// Call invokes the (constant) contract method with params as input values and
// sets the output to result. The result type might be a single field for simple
// returns, a slice of interfaces for anonymous returns and a struct for named
// returns.
func (_GuardiansRegistration *GuardiansRegistrationCallerRaw) Call(opts *bind.CallOpts, result *[]interface{}, method string, params ...interface{}) error {
	return _GuardiansRegistration.Contract.contract.Call(opts, result, method, params...)
}

// Transfer initiates a plain transaction to move funds to the contract, calling
// its default method if one is available.
func (_GuardiansRegistration *GuardiansRegistrationTransactorRaw) Transfer(opts *bind.TransactOpts) (*types.Transaction, error) {
	return _GuardiansRegistration.Contract.contract.Transfer(opts)
}

// Transact invokes the (paid) contract method with params as input values.
func (_GuardiansRegistration *GuardiansRegistrationTransactorRaw) Transact(opts *bind.TransactOpts, method string, params ...interface{}) (*types.Transaction, error) {
	return _GuardiansRegistration.Contract.contract.Transact(opts, method, params...)
}

// GetGuardiansOrbsAddress is a free data retrieval call binding the contract method 0xfccea80d.
//
// Solidity: function getGuardiansOrbsAddress(address[] guardianAddrs) view returns(address[] orbsAddrs)
func (_GuardiansRegistration *GuardiansRegistrationCaller) GetGuardiansOrbsAddress(opts *bind.CallOpts, guardianAddrs []common.Address) ([]common.Address, error) {
	var out []interface{}
	err := _GuardiansRegistration.contract.Call(opts, &out, "getGuardiansOrbsAddress", guardianAddrs)

	if err != nil {
		return *new([]common.Address), err
	}

	out0 := *abi.ConvertType(out[0], new([]common.Address)).(*[]common.Address)

	return out0, err

}

// GetGuardiansOrbsAddress is a free data retrieval call binding the contract method 0xfccea80d.
//
// Solidity: function getGuardiansOrbsAddress(address[] guardianAddrs) view returns(address[] orbsAddrs)
func (_GuardiansRegistration *GuardiansRegistrationSession) GetGuardiansOrbsAddress(guardianAddrs []common.Address) ([]common.Address, error) {
	return _GuardiansRegistration.Contract.GetGuardiansOrbsAddress(&_GuardiansRegistration.CallOpts, guardianAddrs)
}

// GetGuardiansOrbsAddress is a free data retrieval call binding the contract method 0xfccea80d.
//
// Solidity: function getGuardiansOrbsAddress(address[] guardianAddrs) view returns(address[] orbsAddrs)
func (_GuardiansRegistration *GuardiansRegistrationCallerSession) GetGuardiansOrbsAddress(guardianAddrs []common.Address) ([]common.Address, error) {
	return _GuardiansRegistration.Contract.GetGuardiansOrbsAddress(&_GuardiansRegistration.CallOpts, guardianAddrs)
}

// GuardiansRegistrationGuardianDataUpdatedIterator is returned from FilterGuardianDataUpdated and is used to iterate over the raw logs and unpacked data for GuardianDataUpdated events raised by the GuardiansRegistration contract.
type GuardiansRegistrationGuardianDataUpdatedIterator struct {
	Event *GuardiansRegistrationGuardianDataUpdated // Event containing the contract specifics and raw log

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
func (it *GuardiansRegistrationGuardianDataUpdatedIterator) Next() bool {
	// If the iterator failed, stop iterating
	if it.fail != nil {
		return false
	}
	// If the iterator completed, deliver directly whatever's available
	if it.done {
		select {
		case log := <-it.logs:
			it.Event = new(GuardiansRegistrationGuardianDataUpdated)
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
		it.Event = new(GuardiansRegistrationGuardianDataUpdated)
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
func (it *GuardiansRegistrationGuardianDataUpdatedIterator) Error() error {
	return it.fail
}

// Close terminates the iteration process, releasing any pending underlying
// resources.
func (it *GuardiansRegistrationGuardianDataUpdatedIterator) Close() error {
	it.sub.Unsubscribe()
	return nil
}

// GuardiansRegistrationGuardianDataUpdated represents a GuardianDataUpdated event raised by the GuardiansRegistration contract.
type GuardiansRegistrationGuardianDataUpdated struct {
	Guardian         common.Address
	IsRegistered     bool
	Ip               [4]byte
	OrbsAddr         common.Address
	Name             string
	Website          string
	RegistrationTime *big.Int
	Raw              types.Log // Blockchain specific contextual infos
}

// FilterGuardianDataUpdated is a free log retrieval operation binding the contract event 0xedbe727a71a63bf990149415e72abb211f748254e2c40d878fdc02f440233d22.
//
// Solidity: event GuardianDataUpdated(address indexed guardian, bool isRegistered, bytes4 ip, address orbsAddr, string name, string website, uint256 registrationTime)
func (_GuardiansRegistration *GuardiansRegistrationFilterer) FilterGuardianDataUpdated(opts *bind.FilterOpts, guardian []common.Address) (*GuardiansRegistrationGuardianDataUpdatedIterator, error) {

	var guardianRule []interface{}
	for _, guardianItem := range guardian {
		guardianRule = append(guardianRule, guardianItem)
	}

	logs, sub, err := _GuardiansRegistration.contract.FilterLogs(opts, "GuardianDataUpdated", guardianRule)
	if err != nil {
		return nil, err
	}
	return &GuardiansRegistrationGuardianDataUpdatedIterator{contract: _GuardiansRegistration.contract, event: "GuardianDataUpdated", logs: logs, sub: sub}, nil
}

// WatchGuardianDataUpdated is a free log subscription operation binding the contract event 0xedbe727a71a63bf990149415e72abb211f748254e2c40d878fdc02f440233d22.
//
// Solidity: event GuardianDataUpdated(address indexed guardian, bool isRegistered, bytes4 ip, address orbsAddr, string name, string website, uint256 registrationTime)
func (_GuardiansRegistration *GuardiansRegistrationFilterer) WatchGuardianDataUpdated(opts *bind.WatchOpts, sink chan<- *GuardiansRegistrationGuardianDataUpdated, guardian []common.Address) (event.Subscription, error) {

	var guardianRule []interface{}
	for _, guardianItem := range guardian {
		guardianRule = append(guardianRule, guardianItem)
	}

	logs, sub, err := _GuardiansRegistration.contract.WatchLogs(opts, "GuardianDataUpdated", guardianRule)
	if err != nil {
		return nil, err
	}
	return event.NewSubscription(func(quit <-chan struct{}) error {
		defer sub.Unsubscribe()
		for {
			select {
			case log := <-logs:
				// New log arrived, parse the event and forward to the user
				event := new(GuardiansRegistrationGuardianDataUpdated)
				if err := _GuardiansRegistration.contract.UnpackLog(event, "GuardianDataUpdated", log); err != nil {
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

// ParseGuardianDataUpdated is a log parse operation binding the contract event 0xedbe727a71a63bf990149415e72abb211f748254e2c40d878fdc02f440233d22.
//
// Solidity: event GuardianDataUpdated(address indexed guardian, bool isRegistered, bytes4 ip, address orbsAddr, string name, string website, uint256 registrationTime)
func (_GuardiansRegistration *GuardiansRegistrationFilterer) ParseGuardianDataUpdated(log types.Log) (*GuardiansRegistrationGuardianDataUpdated, error) {
	event := new(GuardiansRegistrationGuardianDataUpdated)
	if err := _GuardiansRegistration.contract.UnpackLog(event, "GuardianDataUpdated", log); err != nil {
		return nil, err
	}
	event.Raw = log
	return event, nil
}

// GuardiansRegistrationGuardianRegisteredIterator is returned from FilterGuardianRegistered and is used to iterate over the raw logs and unpacked data for GuardianRegistered events raised by the GuardiansRegistration contract.
type GuardiansRegistrationGuardianRegisteredIterator struct {
	Event *GuardiansRegistrationGuardianRegistered // Event containing the contract specifics and raw log

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
func (it *GuardiansRegistrationGuardianRegisteredIterator) Next() bool {
	// If the iterator failed, stop iterating
	if it.fail != nil {
		return false
	}
	// If the iterator completed, deliver directly whatever's available
	if it.done {
		select {
		case log := <-it.logs:
			it.Event = new(GuardiansRegistrationGuardianRegistered)
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
		it.Event = new(GuardiansRegistrationGuardianRegistered)
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
func (it *GuardiansRegistrationGuardianRegisteredIterator) Error() error {
	return it.fail
}

// Close terminates the iteration process, releasing any pending underlying
// resources.
func (it *GuardiansRegistrationGuardianRegisteredIterator) Close() error {
	it.sub.Unsubscribe()
	return nil
}

// GuardiansRegistrationGuardianRegistered represents a GuardianRegistered event raised by the GuardiansRegistration contract.
type GuardiansRegistrationGuardianRegistered struct {
	Guardian common.Address
	Raw      types.Log // Blockchain specific contextual infos
}

// FilterGuardianRegistered is a free log retrieval operation binding the contract event 0xc2d72ac93e7fb29c534663a530cd3db012d5c336965e423e0ed5ee7a64ed8745.
//
// Solidity: event GuardianRegistered(address indexed guardian)
func (_GuardiansRegistration *GuardiansRegistrationFilterer) FilterGuardianRegistered(opts *bind.FilterOpts, guardian []common.Address) (*GuardiansRegistrationGuardianRegisteredIterator, error) {

	var guardianRule []interface{}
	for _, guardianItem := range guardian {
		guardianRule = append(guardianRule, guardianItem)
	}

	logs, sub, err := _GuardiansRegistration.contract.FilterLogs(opts, "GuardianRegistered", guardianRule)
	if err != nil {
		return nil, err
	}
	return &GuardiansRegistrationGuardianRegisteredIterator{contract: _GuardiansRegistration.contract, event: "GuardianRegistered", logs: logs, sub: sub}, nil
}

// WatchGuardianRegistered is a free log subscription operation binding the contract event 0xc2d72ac93e7fb29c534663a530cd3db012d5c336965e423e0ed5ee7a64ed8745.
//
// Solidity: event GuardianRegistered(address indexed guardian)
func (_GuardiansRegistration *GuardiansRegistrationFilterer) WatchGuardianRegistered(opts *bind.WatchOpts, sink chan<- *GuardiansRegistrationGuardianRegistered, guardian []common.Address) (event.Subscription, error) {

	var guardianRule []interface{}
	for _, guardianItem := range guardian {
		guardianRule = append(guardianRule, guardianItem)
	}

	logs, sub, err := _GuardiansRegistration.contract.WatchLogs(opts, "GuardianRegistered", guardianRule)
	if err != nil {
		return nil, err
	}
	return event.NewSubscription(func(quit <-chan struct{}) error {
		defer sub.Unsubscribe()
		for {
			select {
			case log := <-logs:
				// New log arrived, parse the event and forward to the user
				event := new(GuardiansRegistrationGuardianRegistered)
				if err := _GuardiansRegistration.contract.UnpackLog(event, "GuardianRegistered", log); err != nil {
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

// ParseGuardianRegistered is a log parse operation binding the contract event 0xc2d72ac93e7fb29c534663a530cd3db012d5c336965e423e0ed5ee7a64ed8745.
//
// Solidity: event GuardianRegistered(address indexed guardian)
func (_GuardiansRegistration *GuardiansRegistrationFilterer) ParseGuardianRegistered(log types.Log) (*GuardiansRegistrationGuardianRegistered, error) {
	event := new(GuardiansRegistrationGuardianRegistered)
	if err := _GuardiansRegistration.contract.UnpackLog(event, "GuardianRegistered", log); err != nil {
		return nil, err
	}
	event.Raw = log
	return event, nil
}

// GuardiansRegistrationGuardianUnregisteredIterator is returned from FilterGuardianUnregistered and is used to iterate over the raw logs and unpacked data for GuardianUnregistered events raised by the GuardiansRegistration contract.
type GuardiansRegistrationGuardianUnregisteredIterator struct {
	Event *GuardiansRegistrationGuardianUnregistered // Event containing the contract specifics and raw log

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
func (it *GuardiansRegistrationGuardianUnregisteredIterator) Next() bool {
	// If the iterator failed, stop iterating
	if it.fail != nil {
		return false
	}
	// If the iterator completed, deliver directly whatever's available
	if it.done {
		select {
		case log := <-it.logs:
			it.Event = new(GuardiansRegistrationGuardianUnregistered)
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
		it.Event = new(GuardiansRegistrationGuardianUnregistered)
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
func (it *GuardiansRegistrationGuardianUnregisteredIterator) Error() error {
	return it.fail
}

// Close terminates the iteration process, releasing any pending underlying
// resources.
func (it *GuardiansRegistrationGuardianUnregisteredIterator) Close() error {
	it.sub.Unsubscribe()
	return nil
}

// GuardiansRegistrationGuardianUnregistered represents a GuardianUnregistered event raised by the GuardiansRegistration contract.
type GuardiansRegistrationGuardianUnregistered struct {
	Guardian common.Address
	Raw      types.Log // Blockchain specific contextual infos
}

// FilterGuardianUnregistered is a free log retrieval operation binding the contract event 0x2fe9bc8838e6b50cb0de2202d0b5155e4c8f529edf544078d9d019e9789ffb23.
//
// Solidity: event GuardianUnregistered(address indexed guardian)
func (_GuardiansRegistration *GuardiansRegistrationFilterer) FilterGuardianUnregistered(opts *bind.FilterOpts, guardian []common.Address) (*GuardiansRegistrationGuardianUnregisteredIterator, error) {

	var guardianRule []interface{}
	for _, guardianItem := range guardian {
		guardianRule = append(guardianRule, guardianItem)
	}

	logs, sub, err := _GuardiansRegistration.contract.FilterLogs(opts, "GuardianUnregistered", guardianRule)
	if err != nil {
		return nil, err
	}
	return &GuardiansRegistrationGuardianUnregisteredIterator{contract: _GuardiansRegistration.contract, event: "GuardianUnregistered", logs: logs, sub: sub}, nil
}

// WatchGuardianUnregistered is a free log subscription operation binding the contract event 0x2fe9bc8838e6b50cb0de2202d0b5155e4c8f529edf544078d9d019e9789ffb23.
//
// Solidity: event GuardianUnregistered(address indexed guardian)
func (_GuardiansRegistration *GuardiansRegistrationFilterer) WatchGuardianUnregistered(opts *bind.WatchOpts, sink chan<- *GuardiansRegistrationGuardianUnregistered, guardian []common.Address) (event.Subscription, error) {

	var guardianRule []interface{}
	for _, guardianItem := range guardian {
		guardianRule = append(guardianRule, guardianItem)
	}

	logs, sub, err := _GuardiansRegistration.contract.WatchLogs(opts, "GuardianUnregistered", guardianRule)
	if err != nil {
		return nil, err
	}
	return event.NewSubscription(func(quit <-chan struct{}) error {
		defer sub.Unsubscribe()
		for {
			select {
			case log := <-logs:
				// New log arrived, parse the event and forward to the user
				event := new(GuardiansRegistrationGuardianUnregistered)
				if err := _GuardiansRegistration.contract.UnpackLog(event, "GuardianUnregistered", log); err != nil {
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

// ParseGuardianUnregistered is a log parse operation binding the contract event 0x2fe9bc8838e6b50cb0de2202d0b5155e4c8f529edf544078d9d019e9789ffb23.
//
// Solidity: event GuardianUnregistered(address indexed guardian)
func (_GuardiansRegistration *GuardiansRegistrationFilterer) ParseGuardianUnregistered(log types.Log) (*GuardiansRegistrationGuardianUnregistered, error) {
	event := new(GuardiansRegistrationGuardianUnregistered)
	if err := _GuardiansRegistration.contract.UnpackLog(event, "GuardianUnregistered", log); err != nil {
		return nil, err
	}
	event.Raw = log
	return event, nil
}
